// verikit Go quick start: loads libverikit at run time (cgo + dlopen; nothing is linked at
// build time) and runs the OTP, token and magic-link flows, plus one asynchronous verification
// whose callback comes back into Go. Exits non-zero if any step misbehaves (the tests run it).
//
//	go run . /path/to/libverikit.so.0 [store-url]
package main

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include "verikit.h"

// The library, loaded once; each wrapper calls through a pointer found with dlsym.
static void *vk;
static const char *vk_load(const char *path) {
  vk = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  return vk ? NULL : dlerror();
}
static void *vk_sym(const char *name) { return dlsym(vk, name); }

#define VK_CALL(type, name, ...) ((type)vk_sym(#name))(__VA_ARGS__)

static const char *vk_version(void) { return VK_CALL(const char *(*)(void), verikit_version); }
static const char *vk_error(void) { return VK_CALL(const char *(*)(void), verikit_error_message); }
static const char *vk_status_name(int s) { return VK_CALL(const char *(*)(int), verikit_status_name, s); }

static int vk_engine(verikit_engine **out, const char *store, const uint8_t *key, const char *prefix) {
  verikit_config *c = NULL;
  int rc = VK_CALL(int (*)(verikit_config **), verikit_config_new, &c);
  if (rc == 0) rc = VK_CALL(int (*)(verikit_config *, const char *), verikit_config_set_store, c, store);
  if (rc == 0) rc = VK_CALL(int (*)(verikit_config *, const char *), verikit_config_set_key_prefix, c, prefix);
  if (rc == 0) rc = VK_CALL(int (*)(verikit_config *, uint8_t, const uint8_t *, size_t), verikit_config_set_key, c, 1, key, 32);
  if (rc == 0) rc = VK_CALL(int (*)(verikit_engine **, const verikit_config *), verikit_engine_new, out, c);
  VK_CALL(void (*)(verikit_config *), verikit_config_free, c);
  return rc;
}
static void vk_engine_free(verikit_engine *e) { VK_CALL(void (*)(verikit_engine *), verikit_engine_free, e); }
static int vk_key(uint8_t *key) { return VK_CALL(int (*)(uint8_t *, size_t), verikit_key_generate, key, 32); }

static int vk_otp_issue(verikit_result **r, verikit_engine *e, const char *p, const char *id, size_t n) {
  return VK_CALL(int (*)(verikit_result **, verikit_engine *, const char *, const char *, size_t, const verikit_issue_options *),
                 verikit_otp_issue, r, e, p, id, n, NULL);
}
static int vk_otp_verify(verikit_result **r, verikit_engine *e, const char *p, const char *id, size_t n, const char *code, size_t cn) {
  return VK_CALL(int (*)(verikit_result **, verikit_engine *, const char *, const char *, size_t, const char *, size_t, const verikit_verify_options *),
                 verikit_otp_verify, r, e, p, id, n, code, cn, NULL);
}
static int vk_token_issue(verikit_result **r, verikit_engine *e, const char *p, const char *id, size_t n, const uint8_t *pl, size_t pln) {
  verikit_issue_options o = VERIKIT_ISSUE_OPTIONS_INIT;
  o.payload = pl;
  o.payload_len = pln;
  return VK_CALL(int (*)(verikit_result **, verikit_engine *, const char *, const char *, size_t, const verikit_issue_options *),
                 verikit_token_issue, r, e, p, id, n, &o);
}
static int vk_token_verify(verikit_result **r, verikit_engine *e, const char *p, const char *t, size_t n) {
  return VK_CALL(int (*)(verikit_result **, verikit_engine *, const char *, const char *, size_t), verikit_token_verify, r, e, p, t, n);
}
static int vk_link_issue(verikit_result **r, verikit_engine *e, const char *p, const char *id, size_t n, const char *base) {
  return VK_CALL(int (*)(verikit_result **, verikit_engine *, const char *, const char *, size_t, const char *, const verikit_issue_options *),
                 verikit_link_issue, r, e, p, id, n, base, NULL);
}
static int vk_link_peek(verikit_result **r, verikit_engine *e, const char *p, const char *t, size_t n) {
  return VK_CALL(int (*)(verikit_result **, verikit_engine *, const char *, const char *, size_t), verikit_link_peek, r, e, p, t, n);
}
static int vk_link_consume(verikit_result **r, verikit_engine *e, const char *p, const char *t, size_t n) {
  return VK_CALL(int (*)(verikit_result **, verikit_engine *, const char *, const char *, size_t), verikit_link_consume, r, e, p, t, n);
}
static void vk_result_free(verikit_result *r) { VK_CALL(void (*)(verikit_result *), verikit_result_free, r); }
static int vk_status(const verikit_result *r) {
  int s = -1;
  VK_CALL(int (*)(const verikit_result *, int *), verikit_result_status, r, &s);
  return s;
}
typedef int (*vk_bytes_fn)(const verikit_result *, const char **, size_t *);
static int vk_field(const verikit_result *r, const char *getter, const char **data, size_t *len) {
  return ((vk_bytes_fn)vk_sym(getter))(r, data, len);
}

// Asynchronous verification: the callback re-enters Go through an exported function.
extern void goVerified(uintptr_t handle, int err, char *message, verikit_result *result);
static void vk_trampoline(void *user, int err, const char *message, verikit_result *result) {
  goVerified((uintptr_t)user, err, (char *)message, result);
}
static int vk_otp_verify_async(verikit_engine *e, const char *p, const char *id, size_t n, const char *code, size_t cn, uintptr_t handle) {
  return VK_CALL(int (*)(verikit_engine *, const char *, const char *, size_t, const char *, size_t, const verikit_verify_options *, verikit_callback, void *),
                 verikit_otp_verify_async, e, p, id, n, code, cn, NULL, vk_trampoline, (void *)handle);
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/cgo"
	"strings"
	"unsafe"
)

const (
	statusVerified = 0
	statusValid    = 1
	statusIssued   = 2
	statusInvalid  = 3
	statusNotFound = 4
)

var failures = 0

func check(ok bool, what string) {
	if !ok {
		fmt.Fprintf(os.Stderr, "FAILED: %s (last error: %s)\n", what, C.GoString(C.vk_error()))
		failures++
	}
}

// result wraps a verikit_result; close frees it.
type result struct{ r *C.verikit_result }

func (r result) status() int { return int(C.vk_status(r.r)) }
func (r result) field(getter string) string {
	name := C.CString(getter)
	defer C.free(unsafe.Pointer(name))
	var data *C.char
	var n C.size_t
	C.vk_field(r.r, name, &data, &n)
	return C.GoStringN(data, C.int(n))
}
func (r result) close()          { C.vk_result_free(r.r) }
func statusName(s int) string    { return C.GoString(C.vk_status_name(C.int(s))) }
func cs(s string) *C.char        { return C.CString(s) }
func free(p *C.char)             { C.free(unsafe.Pointer(p)) }
func call(rc C.int, what string) { check(rc == 0, what) }

//export goVerified
func goVerified(handle C.uintptr_t, err C.int, message *C.char, r *C.verikit_result) {
	h := cgo.Handle(handle)
	done := h.Value().(chan int)
	if err != 0 {
		fmt.Fprintf(os.Stderr, "async verify failed: %s\n", C.GoString(message))
		done <- -1
		return
	}
	done <- int(C.vk_status(r))
	C.vk_result_free(r)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: quickstart /path/to/libverikit.so.0 [store-url]")
		os.Exit(2)
	}
	store := "memory://"
	if len(os.Args) > 2 {
		store = os.Args[2]
	}
	path := cs(os.Args[1])
	if msg := C.vk_load(path); msg != nil {
		fmt.Fprintf(os.Stderr, "cannot load %s: %s\n", os.Args[1], C.GoString(msg))
		os.Exit(2)
	}
	free(path)
	fmt.Printf("verikit %s from Go, store %s\n\n", C.GoString(C.vk_version()), store)

	var key [32]C.uint8_t
	call(C.vk_key(&key[0]), "key")
	// A new key each run, so a key prefix of its own: a shared store's records remember the key
	// they were written with (README "Key check"). An application keeps one key and one prefix.
	var run [32]C.uint8_t
	call(C.vk_key(&run[0]), "key")
	cprefix := cs(fmt.Sprintf("quickstart-%02x%02x%02x%02x", run[0], run[1], run[2], run[3]))
	var engine *C.verikit_engine
	cstore := cs(store)
	if C.vk_engine(&engine, cstore, &key[0], cprefix) != 0 {
		fmt.Fprintf(os.Stderr, "engine: %s\n", C.GoString(C.vk_error()))
		os.Exit(1)
	}
	free(cstore)
	free(cprefix)
	defer C.vk_engine_free(engine)

	user := "gopher@example.com"
	cuser, login := cs(user), cs("login")
	defer free(cuser)
	defer free(login)
	n := C.size_t(len(user))

	// OTP: issue, a wrong guess, the right code, a replay.
	var r result
	call(C.vk_otp_issue(&r.r, engine, login, cuser, n), "otp issue")
	code := r.field("verikit_result_secret")
	r.close()
	fmt.Printf("issued code %s\n", code)
	check(len(code) == 6, "a 6-digit code")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for _, attempt := range []struct {
		code string
		want int
	}{{wrong, statusInvalid}, {code, statusVerified}, {code, statusNotFound}} {
		cc := cs(attempt.code)
		call(C.vk_otp_verify(&r.r, engine, login, cuser, n, cc, C.size_t(len(attempt.code))), "otp verify")
		fmt.Printf("verify %s -> %s\n", attempt.code, statusName(r.status()))
		check(r.status() == attempt.want, "verify "+attempt.code)
		r.close()
		free(cc)
	}

	// Asynchronous verification, completed through a Go callback.
	other := cs("async-gopher@example.com")
	defer free(other)
	call(C.vk_otp_issue(&r.r, engine, login, other, 24), "otp issue 2")
	code2 := r.field("verikit_result_secret")
	r.close()
	done := make(chan int, 1)
	h := cgo.NewHandle(done)
	cc := cs(code2)
	call(C.vk_otp_verify_async(engine, login, other, 24, cc, C.size_t(len(code2)), C.uintptr_t(h)), "verify async")
	status := <-done
	h.Delete()
	free(cc)
	fmt.Printf("async verify %s -> %s\n\n", code2, statusName(status))
	check(status == statusVerified, "async verification")

	// Token with a payload, verified by the token alone.
	purpose := cs("confirm-api")
	defer free(purpose)
	payload := []byte(`{"action":"rotate-api-key"}`)
	call(C.vk_token_issue(&r.r, engine, purpose, cuser, n, (*C.uint8_t)(unsafe.Pointer(&payload[0])), C.size_t(len(payload))), "token issue")
	token := r.field("verikit_result_secret")
	r.close()
	fmt.Printf("issued token %s\n", token)
	ct := cs(token)
	call(C.vk_token_verify(&r.r, engine, purpose, ct, C.size_t(len(token))), "token verify")
	fmt.Printf("verify -> %s: identifier %s, payload %s\n", statusName(r.status()), r.field("verikit_result_identifier"), r.field("verikit_result_payload"))
	check(r.status() == statusVerified && r.field("verikit_result_identifier") == user, "token verifies for its identifier")
	check(r.field("verikit_result_payload") == string(payload), "payload comes back")
	r.close()
	free(ct)

	// Magic link: issue, peek, consume, replay.
	reset := cs("reset-password")
	defer free(reset)
	base := cs("https://app.example.com/reset")
	defer free(base)
	call(C.vk_link_issue(&r.r, engine, reset, cuser, n, base), "link issue")
	url, ltok := r.field("verikit_result_url"), r.field("verikit_result_secret")
	r.close()
	fmt.Printf("\nlink %s\n", url)
	check(strings.HasPrefix(url, "https://app.example.com/reset?token="), "link URL")
	cl := cs(ltok)
	defer free(cl)
	for _, step := range []struct {
		name string
		fn   func() C.int
		want int
	}{
		{"peek", func() C.int { return C.vk_link_peek(&r.r, engine, reset, cl, C.size_t(len(ltok))) }, statusValid},
		{"consume", func() C.int { return C.vk_link_consume(&r.r, engine, reset, cl, C.size_t(len(ltok))) }, statusVerified},
		{"consume again", func() C.int { return C.vk_link_consume(&r.r, engine, reset, cl, C.size_t(len(ltok))) }, statusNotFound},
	} {
		call(step.fn(), step.name)
		fmt.Printf("%s -> %s\n", step.name, statusName(r.status()))
		check(r.status() == step.want, step.name)
		r.close()
	}

	if failures > 0 {
		fmt.Println("\nSOME FLOWS FAILED")
		os.Exit(1)
	}
	fmt.Println("\nall flows behaved as documented")
}
