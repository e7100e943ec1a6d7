/* Every program here makes one call and exits with its outcome: 0 when it succeeded, else its
 * errno, so a test can tell the defence it names (EPERM, EROFS) from any other failure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int outcome(long result, const char *call)
{
    if (result >= 0)
        return 0;
    int err = errno;
    fprintf(stderr, "%s: %s\n", call, strerror(err));
    return err;
}
