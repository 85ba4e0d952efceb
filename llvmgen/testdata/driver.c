// driver LIB.so NAME:KIND... loads LIB.so and calls each zero-argument function NAME through
// its packed entry _mlir_NAME, printing "NAME VALUE" per line. KIND is the result kind (f32,
// f64, i64, i32, i16, i8, bool). The address space is limited so that a leaking kernel fails
// fast instead of exhausting the machine.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: driver LIB.so NAME:KIND...\n");
		return 2;
	}
	struct rlimit lim = {4UL << 30, 4UL << 30};
	if (setrlimit(RLIMIT_AS, &lim) != 0) {
		perror("setrlimit");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW);
	if (lib == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		char name[256], sym[300];
		const char *colon = strchr(argv[i], ':');
		if (colon == NULL || colon - argv[i] >= (long)sizeof name) {
			fprintf(stderr, "bad argument %s\n", argv[i]);
			return 2;
		}
		memcpy(name, argv[i], colon - argv[i]);
		name[colon - argv[i]] = 0;
		const char *kind = colon + 1;
		snprintf(sym, sizeof sym, "_mlir_%s", name);
		void (*fn)(void **) = (void (*)(void **))dlsym(lib, sym);
		if (fn == NULL) {
			fprintf(stderr, "dlsym %s: %s\n", sym, dlerror());
			return 2;
		}
		union {
			double f64;
			float f32;
			int64_t i64;
			int32_t i32;
			int16_t i16;
			int8_t i8;
			unsigned char b;
		} r;
		memset(&r, 0, sizeof r);
		void *args[1] = {&r};
		fn(args);
		if (!strcmp(kind, "f32")) printf("%s %.9g\n", name, r.f32);
		else if (!strcmp(kind, "f64")) printf("%s %.17g\n", name, r.f64);
		else if (!strcmp(kind, "i64")) printf("%s %lld\n", name, (long long)r.i64);
		else if (!strcmp(kind, "i32")) printf("%s %d\n", name, r.i32);
		else if (!strcmp(kind, "i16")) printf("%s %d\n", name, r.i16);
		else if (!strcmp(kind, "i8")) printf("%s %d\n", name, r.i8);
		else if (!strcmp(kind, "bool")) printf("%s %d\n", name, r.b);
		else {
			fprintf(stderr, "unknown kind %s\n", kind);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
