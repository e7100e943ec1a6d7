/* clone_newuser: clone(CLONE_NEWUSER | SIGCHLD) made directly, the way a runtime would without
 * unshare(2); the child exits at once. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "outcome.h"

int main(void)
{
    /* No new stack: the child goes on as after fork. s390 takes the stack first. */
#if defined(__s390__)
    long pid = syscall(SYS_clone, 0, CLONE_NEWUSER | SIGCHLD, 0, 0, 0);
#else
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
#endif
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return outcome(pid, "clone");
}
