/* The bare libpcap baseline of `make bench`: read every packet of a
 * capture file and do nothing else, so the benchmark can tell how much of
 * a tool's time is only the cost of reading the file.
 *
 *   pcap_read_loop FILE
 *
 * prints one line: packets=N bytes=N seconds=S pps=P
 * (bytes = captured bytes; seconds = wall time of the read loop only). */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";

    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.pcap|FILE.pcapng\n", argv[0]);
        return 2;
    }
    pcap_t *p = pcap_open_offline(argv[1], errbuf);
    if (p == NULL) {
        fprintf(stderr, "pcap_read_loop: cannot open %s: %s\n", argv[1], errbuf);
        return 1;
    }

    uint64_t packets = 0, bytes = 0;
    /* Summed so the compiler cannot drop the read of each packet. */
    volatile uint8_t first_bytes = 0;
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc;
    double start = now_seconds();
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        packets++;
        bytes += hdr->caplen;
        if (hdr->caplen > 0)
            first_bytes += data[0];
    }
    double seconds = now_seconds() - start;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcap_read_loop: %s: read error after %" PRIu64 " packets: %s\n",
                argv[1], packets, pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);

    printf("packets=%" PRIu64 " bytes=%" PRIu64 " seconds=%.6f pps=%.0f\n", packets, bytes,
           seconds, seconds > 0 ? (double)packets / seconds : 0.0);
    return 0;
}
