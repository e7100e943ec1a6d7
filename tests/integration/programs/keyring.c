/* keyring keyctl|add_key|request_key: one call of the kernel's key management, made directly
 * (the image has no keyctl tool). keyctl looks up the caller's user keyring, which belongs to
 * the uid and so is shared with the host's root; add_key and request_key act on the process's
 * own keyring, which ends with it. */
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    const char *call = argc > 1 ? argv[1] : "";
    long id;
    if (!strcmp(call, "keyctl"))
        id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
    else if (!strcmp(call, "add_key"))
        id = syscall(SYS_add_key, "user", "sbtui-test", "x", 1, KEY_SPEC_PROCESS_KEYRING);
    else if (!strcmp(call, "request_key"))
        id = syscall(SYS_request_key, "user", "sbtui-test", NULL, KEY_SPEC_PROCESS_KEYRING);
    else {
        fprintf(stderr, "usage: keyring keyctl|add_key|request_key\n");
        return 255;
    }
    if (id >= 0)
        printf("%s: key %ld\n", call, id);
    return outcome(id, call);
}
