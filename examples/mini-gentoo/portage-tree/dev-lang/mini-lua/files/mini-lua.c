#include <stdio.h>

int main(void) {
    puts("mini-lua " MINI_VERSION " (slot " MINI_SLOT ")");
#ifdef MINI_READLINE
    puts("readline: on");
#endif
    return 0;
}
