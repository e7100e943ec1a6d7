/* mount DIR: mount a tmpfs on DIR, and unmount it again. */
#include <sys/mount.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mount DIR\n");
        return 255;
    }
    if (mount("none", argv[1], "tmpfs", 0, NULL) < 0)
        return outcome(-1, "mount");
    return outcome(umount(argv[1]), "umount");
}
