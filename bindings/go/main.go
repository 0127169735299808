// Calling libopenfault from Go through cgo: a consistent-hash ring, a local lock with its
// fencing token, and the hash.
//
//	CGO_CFLAGS="-I<includedir>" CGO_LDFLAGS="-L<libdir>" go run .
package main

/*
#cgo LDFLAGS: -lopenfault
#include <stdlib.h>
#include <openfault/openfault.h>
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

func check(rc C.int, what string) {
	if rc != C.OF_OK {
		fmt.Fprintf(os.Stderr, "%s: %s %s\n", what, C.GoString(C.of_strerror(rc)),
			C.GoString(C.of_last_error_detail()))
		os.Exit(1)
	}
}

// cbytes copies b into C memory: the library copies its inputs during the call, but cgo's
// pointer rules are simplest to keep when C never sees Go memory. Free with C.free.
func cbytes(s string) (unsafe.Pointer, C.size_t) {
	return C.CBytes([]byte(s)), C.size_t(len(s))
}

func main() {
	fmt.Printf("libopenfault %s\n", C.GoString(C.of_version_string()))
	key := []byte("user:42")
	h := C.of_hash64(unsafe.Pointer(&key[0]), C.size_t(len(key)), 0)
	fmt.Printf("hash64(user:42) = %016x\n", uint64(h))

	// Ring: the tag of each node is its index in nodes.
	nodes := []string{"cache-a", "cache-b", "cache-c"}
	var ropts C.of_ring_options
	check(C.of_ring_options_init(&ropts, C.size_t(unsafe.Sizeof(ropts))), "of_ring_options_init")
	ropts.vnodes = 256
	var ring *C.of_ring
	check(C.of_ring_create(&ropts, &ring), "of_ring_create")
	for i, n := range nodes {
		id, idLen := cbytes(n)
		check(C.of_ring_add(ring, id, idLen, 1, C.uint64_t(i)), "of_ring_add")
		C.free(id)
	}
	for _, k := range []string{"user:1", "user:2", "user:3"} {
		ck, kLen := cbytes(k)
		var tag C.uint64_t
		check(C.of_ring_lookup(ring, ck, kLen, &tag, nil, 0, nil), "of_ring_lookup")
		C.free(ck)
		fmt.Printf("%s -> %s\n", k, nodes[tag])
	}
	C.of_ring_destroy(ring)

	var provider *C.of_lock_provider
	check(C.of_lock_local_create(&provider), "of_lock_local_create")
	defer C.of_lock_provider_destroy(provider)

	name, nameLen := cbytes("go-job")
	defer C.free(name)
	var opts C.of_lock_options
	check(C.of_lock_options_init(&opts, C.size_t(unsafe.Sizeof(opts))), "of_lock_options_init")
	opts.ttl_ms = 5000

	var last C.uint64_t
	ok := true
	for i := 0; i < 3; i++ {
		var lock *C.of_lock
		check(C.of_lock_acquire(provider, name, nameLen, &opts, &lock), "of_lock_acquire")
		var fence C.uint64_t
		check(C.of_lock_fence(lock, &fence), "of_lock_fence")
		if fence <= last {
			ok = false
		}
		last = fence
		check(C.of_lock_release(lock), "of_lock_release")
	}
	answer := "yes"
	if !ok {
		answer = "no"
	}
	fmt.Printf("go: 3 acquisitions, fences strictly increasing: %s\n", answer)
	if !ok {
		os.Exit(1)
	}
}
