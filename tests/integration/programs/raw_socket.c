/* raw_socket packet|inet: open a raw socket (link layer or IP), and close it. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "outcome.h"

int main(int argc, char **argv)
{
    const char *kind = argc > 1 ? argv[1] : "";
    int fd;
    if (!strcmp(kind, "packet"))
        fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    else if (!strcmp(kind, "inet"))
        fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    else {
        fprintf(stderr, "usage: raw_socket packet|inet\n");
        return 255;
    }
    if (fd < 0)
        return outcome(-1, "socket");
    return outcome(close(fd), "close");
}
