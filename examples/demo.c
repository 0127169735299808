/* Shows: the library's version and its status codes (the tour grows as components land). */
#include <stdio.h>

#include <openfault/openfault.h>

int main(void)
{
    printf("libopenfault %s (header %s)\n", of_version_string(), OF_VERSION_STRING);
    if (of_version_number() != OF_VERSION_NUMBER) {
        fprintf(stderr, "header and library versions differ\n");
        return 1;
    }
    printf("status codes:\n");
    for (int s = 0; s >= OF_STATUS_MIN; s--)
        printf("  %4d  %-22s %s\n", s, of_status_name(s), of_strerror(s));
    return 0;
}
