/* proc_child.c: a child for test_proc: `proc_child exit CODE` ends at
 * once with CODE; `proc_child sleep MS CODE` ends with CODE after MS
 * milliseconds. It says what it does on stdout, which ts_proc sends to the
 * child's log file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_time.h>

int
main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "exit") == 0) {
    printf("proc_child: exit %s\n", argv[2]);
    return atoi(argv[2]);
  }
  if (argc == 4 && strcmp(argv[1], "sleep") == 0) {
    printf("proc_child: sleep %s ms, then exit %s\n", argv[2], argv[3]);
    fflush(stdout);
    apr_sleep(apr_time_from_msec(atol(argv[2])));
    return atoi(argv[3]);
  }
  fprintf(stderr, "usage: proc_child exit CODE | sleep MS CODE\n");
  return 64;
}
