/* The bare libpcap baseline of `make bench`: read every packet of a
 * capture file and do nothing else, so the benchmark can tell how much of
 * a tool's time is only the cost of reading the file.
 *
 *   pcap_read_loop [-b BYTES] FILE
 *
 * prints one line: packets=N bytes=N seconds=S pps=P cpu=C
 * (bytes = captured bytes; seconds = wall time of the read loop only; cpu
 * = the process's CPU time in it).  -b reads the file the way flowsensed
 * does: through a stdio buffer of BYTES, without stdio locking. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    long buffer = 0;
    int opt;

    while ((opt = getopt(argc, argv, "b:")) != -1) {
        if (opt != 'b' || (buffer = atol(optarg)) <= 0) {
            fprintf(stderr, "usage: %s [-b BYTES] FILE.pcap|FILE.pcapng\n", argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: %s [-b BYTES] FILE.pcap|FILE.pcapng\n", argv[0]);
        return 2;
    }
    const char *path = argv[optind];
    pcap_t *p;
    if (buffer > 0) {
        FILE *f = fopen(path, "rb");
        char *buf = malloc((size_t)buffer);
        if (f == NULL || buf == NULL) {
            fprintf(stderr, "pcap_read_loop: cannot open %s: %s\n", path, strerror(errno));
            return 1;
        }
        __fsetlocking(f, FSETLOCKING_BYCALLER);
        setvbuf(f, buf, _IOFBF, (size_t)buffer);
        p = pcap_fopen_offline(f, errbuf); /* buf is freed at exit */
    } else {
        p = pcap_open_offline(path, errbuf);
    }
    if (p == NULL) {
        fprintf(stderr, "pcap_read_loop: cannot open %s: %s\n", path, errbuf);
        return 1;
    }

    uint64_t packets = 0, bytes = 0;
    /* Summed so the compiler cannot drop the read of each packet. */
    volatile uint8_t first_bytes = 0;
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc;
    double start = now_seconds(CLOCK_MONOTONIC);
    double cpu_start = now_seconds(CLOCK_PROCESS_CPUTIME_ID);
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        packets++;
        bytes += hdr->caplen;
        if (hdr->caplen > 0)
            first_bytes += data[0];
    }
    double seconds = now_seconds(CLOCK_MONOTONIC) - start;
    double cpu = now_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcap_read_loop: %s: read error after %" PRIu64 " packets: %s\n",
                path, packets, pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);

    printf("packets=%" PRIu64 " bytes=%" PRIu64 " seconds=%.6f pps=%.0f cpu=%.6f\n", packets,
           bytes, seconds, seconds > 0 ? (double)packets / seconds : 0.0, cpu);
    return 0;
}
