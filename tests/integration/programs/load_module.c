/* load_module finit|init: ask the kernel to load a module from nothing (a bad descriptor, an
 * empty image). The kernel checks the caller may load modules before it looks at the module,
 * so where loading is allowed this fails for the module (EBADF, ENOEXEC), or with ENOSYS on a
 * kernel without modules, and never with EPERM. */
#include <sys/syscall.h>
#include <unistd.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    const char *call = argc > 1 ? argv[1] : "";
    if (!strcmp(call, "finit"))
        return outcome(syscall(SYS_finit_module, -1, "", 0), "finit_module");
    if (!strcmp(call, "init"))
        return outcome(syscall(SYS_init_module, NULL, 0, ""), "init_module");
    fprintf(stderr, "usage: load_module finit|init\n");
    return 255;
}
