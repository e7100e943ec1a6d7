/* open_files CHILDREN CAP: CHILDREN processes each open /dev/null until open fails or CAP files
 * are open, and hold them; once all hold theirs, print for each child the files it opened and
 * the errno that stopped it (0: it reached CAP), then by how much the host's count of allocated
 * file handles (the first field of /proc/sys/fs/file-nr, which is not namespaced) grew since
 * before the first child started. The window is a few milliseconds, so other activity on the
 * host barely shows in it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static long allocated_handles(void) {
    char buf[128] = {0};
    int fd = open("/proc/sys/fs/file-nr", O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0) {
        perror("file-nr");
        exit(100);
    }
    close(fd);
    return strtol(buf, NULL, 10);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: open_files CHILDREN CAP\n");
        return 2;
    }
    int children = atoi(argv[1]);
    long cap = atol(argv[2]);
    pid_t pids[256];
    int report[2];
    if (children < 1 || children > 256 || pipe(report) < 0)
        return 2;
    long before = allocated_handles();
    for (int i = 0; i < children; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            return 101;
        }
        if (pids[i] == 0) {
            close(report[0]);
            long opened = 0;
            int err = 0;
            while (opened < cap) {
                if (open("/dev/null", O_RDONLY) < 0) {
                    err = errno;
                    break;
                }
                opened++;
            }
            dprintf(report[1], "child %ld %d\n", opened, err);
            for (;;)
                pause(); /* hold them until killed */
        }
    }
    close(report[1]);
    FILE *lines = fdopen(report[0], "r");
    char line[64];
    for (int i = 0; i < children; i++) {
        if (!fgets(line, sizeof line, lines))
            return 102;
        fputs(line, stdout);
    }
    printf("grew %ld\n", allocated_handles() - before);
    fflush(stdout);
    for (int i = 0; i < children; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    return 0;
}
