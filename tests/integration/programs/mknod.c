/* mknod PATH: make a character device (1,3: /dev/null) at PATH, and remove it. */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mknod PATH\n");
        return 255;
    }
    if (mknod(argv[1], S_IFCHR | 0600, makedev(1, 3)) < 0)
        return outcome(-1, "mknod");
    return outcome(unlink(argv[1]), "unlink");
}
