/* open_for_writing PATH: open an existing file for writing, and close it without writing.
 * A read-only mount refuses the open itself, so nothing needs to be written to prove it. */
#include <fcntl.h>
#include <unistd.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: open_for_writing PATH\n");
        return 255;
    }
    int fd = open(argv[1], O_WRONLY);
    if (fd < 0)
        return outcome(-1, "open");
    return outcome(close(fd), "close");
}
