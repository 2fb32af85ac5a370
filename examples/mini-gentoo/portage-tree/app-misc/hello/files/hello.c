#include <stdio.h>
#ifdef MINI_WITH_LIB
#include <mini.h>
#endif

int main(void) {
#ifdef MINI_GREETING
    puts("Greetings from hello " MINI_VERSION);
#else
    puts("Hello, world! (hello " MINI_VERSION ")");
#endif
#ifdef MINI_NLS
    puts("nls: on");
#endif
#ifdef LIBMINI_VERSION
    puts("built against libmini " LIBMINI_VERSION);
#endif
    return 0;
}
