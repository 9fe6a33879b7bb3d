/* bus_client.h: the license server's bus (port + 1) read as anyone may,
 * with the real mosquitto_sub, for the suites on license_fixture.h
 * (test_license_bus.c, test_bus_access.c, test_bus_retained.c). */
#ifndef TESTS_BUS_CLIENT_H
#define TESTS_BUS_CLIENT_H

/* The retained message on tessera/v1/TOPIC ("" when there is none), read
 * with mosquitto_sub within 2 s; malloc'ed. */
char *bus_read(const char *topic);

/* Wait up to SECONDS (SECONDS * 4 reads, 250 ms apart) for the retained
 * message on TOPIC to contain WANT. Returns 1 when it did. */
int bus_wait(const char *topic, const char *want, int seconds);

#endif
