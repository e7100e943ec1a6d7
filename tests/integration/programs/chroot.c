/* chroot DIR PROGRAM: change root to DIR and run PROGRAM there. */
#include <unistd.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: chroot DIR PROGRAM [ARG...]\n");
        return 255;
    }
    if (chroot(argv[1]) < 0)
        return outcome(-1, "chroot");
    if (chdir("/") < 0)
        return outcome(-1, "chdir");
    execv(argv[2], argv + 2);
    return outcome(-1, "execv");
}
