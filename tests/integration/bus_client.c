/* bus_client.c: the license server's bus read with mosquitto_sub (see
 * bus_client.h). */
#include "bus_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "license_fixture.h"
#include "run.h"

char *
bus_read(const char *topic)
{
  char p[16], t[256];
  run_result_t r;
  char *out;

  snprintf(p, sizeof(p), "%d", port + 1);
  snprintf(t, sizeof(t), "tessera/v1/%s", topic);
  r = run((const char *[]){ "/usr/bin/mosquitto_sub", "-h", "127.0.0.1",
                            "-p", p, "-t", t, "-C", "1", "-W", "2", NULL },
          env(), NULL);
  out = strdup(r.out);
  run_free(&r);
  return out;
}

int
bus_wait(const char *topic, const char *want, int seconds)
{
  for (int i = 0; i < seconds * 4; i++) {
    char *got = bus_read(topic);
    int ok = strstr(got, want) != NULL;
    free(got);
    if (ok)
      return 1;
    usleep(250000);
  }
  return 0;
}
