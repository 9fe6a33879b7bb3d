/* proc_child.c: a child for test_proc: `proc_child exit CODE` ends at
 * once with CODE; `proc_child sleep MS CODE` ends with CODE after MS
 * milliseconds; `proc_child first MARKER MS CODE` does what `sleep` does
 * the first time (when the file MARKER does not exist yet: it creates
 * it), and ends at once with CODE every time after that (a program that
 * ran once and then keeps crashing); `proc_child noisy MS CODE` writes
 * ten lines (one with an escape sequence, one of 300 bytes) and blank
 * lines, then sleeps MS and ends with CODE. It says what it does on
 * stdout, which ts_proc sends to the child's log file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_time.h>

static int
sleep_then_exit(const char *ms, const char *code)
{
  printf("proc_child: sleep %s ms, then exit %s\n", ms, code);
  fflush(stdout);
  apr_sleep(apr_time_from_msec(atol(ms)));
  return atoi(code);
}

static int
noisy(const char *ms, const char *code)
{
  char long_line[301];

  for (int i = 1; i <= 8; i++)
    printf("noise %d\n", i);
  printf("\x1b[31mred\x1b[0m\r\n");
  memset(long_line, 'x', 300);
  long_line[300] = '\0';
  printf("%s\n\n  \n", long_line);
  return sleep_then_exit(ms, code);
}

int
main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "exit") == 0) {
    printf("proc_child: exit %s\n", argv[2]);
    return atoi(argv[2]);
  }
  if (argc == 4 && strcmp(argv[1], "sleep") == 0)
    return sleep_then_exit(argv[2], argv[3]);
  if (argc == 5 && strcmp(argv[1], "first") == 0) {
    FILE *marker = fopen(argv[2], "r");
    if (marker) {
      fclose(marker);
      printf("proc_child: exit %s at once\n", argv[4]);
      return atoi(argv[4]);
    }
    marker = fopen(argv[2], "w");
    if (marker)
      fclose(marker);
    return sleep_then_exit(argv[3], argv[4]);
  }
  if (argc == 4 && strcmp(argv[1], "noisy") == 0)
    return noisy(argv[2], argv[3]);
  fprintf(stderr, "usage: proc_child exit CODE | sleep MS CODE | first "
          "MARKER MS CODE | noisy MS CODE\n");
  return 64;
}
