/* unshare mount|user: move this process into a new mount or user namespace. */
#define _GNU_SOURCE
#include <sched.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    const char *kind = argc > 1 ? argv[1] : "";
    int flags = !strcmp(kind, "mount") ? CLONE_NEWNS : !strcmp(kind, "user") ? CLONE_NEWUSER : 0;
    if (!flags) {
        fprintf(stderr, "usage: unshare mount|user\n");
        return 255;
    }
    return outcome(unshare(flags), "unshare");
}
