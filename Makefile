# Top-level wrapper around CMake. Every target first installs any missing
# Debian package (as root: apt-get install -y), then builds.
#   make demo   the main job: simulator + control point, end to end
#   make test   the whole test suite: release, ASan+UBSan and TSan builds
#   make bench  the benchmarks (one table)
JOBS ?= $(shell nproc)
PKGS := cmake make gcc clang pkg-config libuv1-dev libcurl4-openssl-dev libhttp-parser-dev \
        libexpat1-dev libmicrohttpd-dev libjansson-dev libcmocka-dev \
        python3 util-linux libclang-rt-14-dev \
        iproute2 minidlna miniupnpd miniupnpd-nftables nftables wrk

.PHONY: all deps build demo test test-release test-asan test-tsan bench fuzz \
        install clean

all: build

deps:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  case "$$missing" in *minidlna*) \
	    systemctl disable --now minidlna >/dev/null 2>&1 || true;; esac; \
	fi

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

demo: build
	./build/upnpcp demo

test-release: build
	cd build && ctest --output-on-failure -j$(JOBS) --timeout 900

test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DUCP_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 900

# TSan needs a fixed address layout on kernels with high mmap entropy.
test-tsan: deps
	CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUCP_TSAN=ON >/dev/null
	cmake --build build-tsan -j$(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  setarch $$(uname -m) -R ctest --output-on-failure -j$(JOBS) --timeout 900

test: test-release test-asan test-tsan

# Coverage-guided fuzzing of the description parser (FUZZ_SECONDS, default 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DUCP_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target fuzz_desc
	mkdir -p build-fuzz/corpus && cp fuzz/corpus_desc/* build-fuzz/corpus/
	./build-fuzz/fuzz/fuzz_desc -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  build-fuzz/corpus ../shared/corpus/real/description

# The discovery benchmark sends multicast: inside a private network
# namespace (tests/netns_run.sh). Without one (not root) it runs outside,
# where it skips its multicast part. The invoke benchmark runs against the
# simulator, then minidlna in a private namespace (bench/bench_invoke.sh).
bench: build
	./build/bench/ucp_bench
	@rc=0; tests/netns_run.sh ./build/bench/ucp_bench_ssdp || rc=$$?; \
	if [ $$rc -eq 77 ]; then ./build/bench/ucp_bench_ssdp; \
	else exit $$rc; fi
	bench/bench_invoke.sh
	bench/bench_invoke.sh --pin 1,0
	./build/bench/ucp_bench_gena

install: build
	cmake --install build

clean:
	rm -rf build build-asan build-tsan build-fuzz
