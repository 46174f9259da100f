//! verikit Rust quick start: loads libverikit at run time (dlopen; nothing is linked at build
//! time) and runs the OTP, token and magic-link flows, plus one asynchronous verification with
//! a callback. Exits non-zero if any step misbehaves (the tests run it).
//!
//!     cargo run -- /path/to/libverikit.so.0 [store-url]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::mpsc;

// The C library's loader (glibc has it in libc itself).
extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}
const RTLD_NOW: c_int = 2;

// Opaque handles and the one options struct we pass (layout of verikit.h, version 1).
#[repr(C)]
struct Engine(c_void);
#[repr(C)]
struct Config(c_void);
#[repr(C)]
struct VkResult(c_void);
#[repr(C)]
struct IssueOptions {
    version: u32,
    payload: *const u8,
    payload_len: usize,
    ttl_seconds: u32,
    client_key: *const u8,
    client_key_len: usize,
}

const VERIFIED: c_int = 0;
const VALID: c_int = 1;
const ISSUED: c_int = 2;
const INVALID: c_int = 3;
const NOT_FOUND: c_int = 4;

type Callback = extern "C" fn(*mut c_void, c_int, *const c_char, *mut VkResult);

/// The C API's functions, typed after verikit.h and found with dlsym.
struct Api {
    version: extern "C" fn() -> *const c_char,
    error_message: extern "C" fn() -> *const c_char,
    status_name: extern "C" fn(c_int) -> *const c_char,
    key_generate: extern "C" fn(*mut u8, usize) -> c_int,
    config_new: extern "C" fn(*mut *mut Config) -> c_int,
    config_free: extern "C" fn(*mut Config),
    config_set_store: extern "C" fn(*mut Config, *const c_char) -> c_int,
    config_set_key: extern "C" fn(*mut Config, u8, *const u8, usize) -> c_int,
    config_set_key_prefix: extern "C" fn(*mut Config, *const c_char) -> c_int,
    engine_new: extern "C" fn(*mut *mut Engine, *const Config) -> c_int,
    engine_free: extern "C" fn(*mut Engine),
    result_free: extern "C" fn(*mut VkResult),
    result_status: extern "C" fn(*const VkResult, *mut c_int) -> c_int,
    result_secret: extern "C" fn(*const VkResult, *mut *const c_char, *mut usize) -> c_int,
    result_url: extern "C" fn(*const VkResult, *mut *const c_char, *mut usize) -> c_int,
    result_identifier: extern "C" fn(*const VkResult, *mut *const c_char, *mut usize) -> c_int,
    result_payload: extern "C" fn(*const VkResult, *mut *const u8, *mut usize) -> c_int,
    otp_issue: extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize, *const IssueOptions) -> c_int,
    otp_verify: extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize, *const c_char, usize, *const c_void) -> c_int,
    otp_verify_async: extern "C" fn(*mut Engine, *const c_char, *const c_char, usize, *const c_char, usize, *const c_void, Callback, *mut c_void) -> c_int,
    token_issue: extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize, *const IssueOptions) -> c_int,
    token_verify: extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize) -> c_int,
    link_issue: extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize, *const c_char, *const IssueOptions) -> c_int,
    link_peek: extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize) -> c_int,
    link_consume: extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize) -> c_int,
}

fn load(path: &str) -> Result<Api, String> {
    let c_path = CString::new(path).unwrap();
    let lib = unsafe { dlopen(c_path.as_ptr(), RTLD_NOW) };
    if lib.is_null() {
        return Err(unsafe { CStr::from_ptr(dlerror()) }.to_string_lossy().into_owned());
    }
    macro_rules! sym {
        ($name:literal) => {{
            let n = CString::new($name).unwrap();
            let p = unsafe { dlsym(lib, n.as_ptr()) };
            if p.is_null() {
                return Err(format!("{} lacks {}", path, $name));
            }
            unsafe { std::mem::transmute(p) }
        }};
    }
    Ok(Api {
        version: sym!("verikit_version"),
        error_message: sym!("verikit_error_message"),
        status_name: sym!("verikit_status_name"),
        key_generate: sym!("verikit_key_generate"),
        config_new: sym!("verikit_config_new"),
        config_free: sym!("verikit_config_free"),
        config_set_store: sym!("verikit_config_set_store"),
        config_set_key: sym!("verikit_config_set_key"),
        config_set_key_prefix: sym!("verikit_config_set_key_prefix"),
        engine_new: sym!("verikit_engine_new"),
        engine_free: sym!("verikit_engine_free"),
        result_free: sym!("verikit_result_free"),
        result_status: sym!("verikit_result_status"),
        result_secret: sym!("verikit_result_secret"),
        result_url: sym!("verikit_result_url"),
        result_identifier: sym!("verikit_result_identifier"),
        result_payload: sym!("verikit_result_payload"),
        otp_issue: sym!("verikit_otp_issue"),
        otp_verify: sym!("verikit_otp_verify"),
        otp_verify_async: sym!("verikit_otp_verify_async"),
        token_issue: sym!("verikit_token_issue"),
        token_verify: sym!("verikit_token_verify"),
        link_issue: sym!("verikit_link_issue"),
        link_peek: sym!("verikit_link_peek"),
        link_consume: sym!("verikit_link_consume"),
    })
}

/// Owns a verikit_result and frees it when dropped.
struct Outcome<'a> {
    api: &'a Api,
    r: *mut VkResult,
}

impl<'a> Outcome<'a> {
    fn status(&self) -> c_int {
        let mut s = -1;
        (self.api.result_status)(self.r, &mut s);
        s
    }
    fn text(&self, get: extern "C" fn(*const VkResult, *mut *const c_char, *mut usize) -> c_int) -> String {
        let (mut data, mut len) = (ptr::null(), 0usize);
        get(self.r, &mut data, &mut len);
        let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, len) };
        String::from_utf8_lossy(bytes).into_owned()
    }
    fn payload(&self) -> Vec<u8> {
        let (mut data, mut len) = (ptr::null(), 0usize);
        (self.api.result_payload)(self.r, &mut data, &mut len);
        unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
    }
}

impl Drop for Outcome<'_> {
    fn drop(&mut self) {
        (self.api.result_free)(self.r);
    }
}

extern "C" fn on_verified(user: *mut c_void, error: c_int, message: *const c_char, r: *mut VkResult) {
    // `user` is the Sender we passed; the result is ours to free (status read first).
    let (tx, api) = unsafe { &*(user as *const (mpsc::Sender<c_int>, &Api)) };
    if error != 0 {
        eprintln!("async verify failed: {}", unsafe { CStr::from_ptr(message) }.to_string_lossy());
        tx.send(-1).ok();
        return;
    }
    let mut s = -1;
    (api.result_status)(r, &mut s);
    (api.result_free)(r);
    tx.send(s).ok();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: verikit-quickstart /path/to/libverikit.so.0 [store-url]");
        std::process::exit(2);
    }
    let api = load(&args[1]).unwrap_or_else(|e| {
        eprintln!("cannot load: {e}");
        std::process::exit(2)
    });
    let store = args.get(2).cloned().unwrap_or_else(|| "memory://".into());
    let cstr = |s: &str| CString::new(s).unwrap();
    let name = |s: c_int| unsafe { CStr::from_ptr((api.status_name)(s)) }.to_string_lossy().into_owned();
    println!("verikit {} from Rust, store {}\n", unsafe { CStr::from_ptr((api.version)()) }.to_string_lossy(), store);

    let mut failures = 0;
    let mut check = |ok: bool, what: &str| {
        if !ok {
            eprintln!("FAILED: {what} (last error: {})", unsafe { CStr::from_ptr((api.error_message)()) }.to_string_lossy());
            failures += 1;
        }
    };

    let mut key = [0u8; 32];
    check((api.key_generate)(key.as_mut_ptr(), key.len()) == 0, "key");
    let mut config: *mut Config = ptr::null_mut();
    check((api.config_new)(&mut config) == 0, "config");
    check((api.config_set_store)(config, cstr(&store).as_ptr()) == 0, "store");
    check((api.config_set_key)(config, 1, key.as_ptr(), key.len()) == 0, "set key");
    // A new key each run, so a key prefix of its own: a shared store's records remember the key
    // they were written with (README "Key check"). An application keeps one key and one prefix.
    let mut run = [0u8; 32];
    check((api.key_generate)(run.as_mut_ptr(), run.len()) == 0, "key");
    let prefix = format!("quickstart-{:02x}{:02x}{:02x}{:02x}", run[0], run[1], run[2], run[3]);
    check((api.config_set_key_prefix)(config, cstr(&prefix).as_ptr()) == 0, "set key prefix");
    let mut engine: *mut Engine = ptr::null_mut();
    if (api.engine_new)(&mut engine, config) != 0 {
        eprintln!("engine: {}", unsafe { CStr::from_ptr((api.error_message)()) }.to_string_lossy());
        std::process::exit(1);
    }
    (api.config_free)(config);

    let user = "ferris@example.com";
    let (login, id) = (cstr("login"), cstr(user));
    let mut r: *mut VkResult = ptr::null_mut();

    // OTP: issue, a wrong guess, the right code, a replay.
    check((api.otp_issue)(&mut r, engine, login.as_ptr(), id.as_ptr(), user.len(), ptr::null()) == 0, "otp issue");
    let issued = Outcome { api: &api, r };
    let code = issued.text(api.result_secret);
    println!("issued code {code} (status {})", name(issued.status()));
    check(issued.status() == ISSUED && code.len() == 6, "a 6-digit code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (guess, want) in [(wrong, INVALID), (code.as_str(), VERIFIED), (code.as_str(), NOT_FOUND)] {
        let g = cstr(guess);
        check((api.otp_verify)(&mut r, engine, login.as_ptr(), id.as_ptr(), user.len(), g.as_ptr(), guess.len(), ptr::null()) == 0, "verify");
        let o = Outcome { api: &api, r };
        println!("verify {guess} -> {}", name(o.status()));
        check(o.status() == want, guess);
    }

    // Asynchronous verification: the callback may run on another thread; a channel carries
    // its status back.
    let other = cstr("async-ferris@example.com");
    check((api.otp_issue)(&mut r, engine, login.as_ptr(), other.as_ptr(), 24, ptr::null()) == 0, "otp issue 2");
    let code2 = Outcome { api: &api, r }.text(api.result_secret);
    let (tx, rx) = mpsc::channel();
    let user_data = Box::new((tx, &api));
    let c2 = cstr(&code2);
    check((api.otp_verify_async)(engine, login.as_ptr(), other.as_ptr(), 24, c2.as_ptr(), code2.len(), ptr::null(),
                                 on_verified, &*user_data as *const _ as *mut c_void) == 0, "verify async");
    let status = rx.recv().unwrap_or(-1);
    drop(user_data);
    println!("async verify {code2} -> {}\n", name(status));
    check(status == VERIFIED, "async verification");

    // Token with a payload, verified by the token alone.
    let payload = br#"{"action":"approve-payout"}"#;
    let opts = IssueOptions { version: 1, payload: payload.as_ptr(), payload_len: payload.len(), ttl_seconds: 0,
                              client_key: ptr::null(), client_key_len: 0 };
    let confirm = cstr("confirm-api");
    check((api.token_issue)(&mut r, engine, confirm.as_ptr(), id.as_ptr(), user.len(), &opts) == 0, "token issue");
    let token = Outcome { api: &api, r }.text(api.result_secret);
    println!("issued token {token}");
    let t = cstr(&token);
    check((api.token_verify)(&mut r, engine, confirm.as_ptr(), t.as_ptr(), token.len()) == 0, "token verify");
    let verified = Outcome { api: &api, r };
    println!("verify -> {}: identifier {}, payload {}", name(verified.status()), verified.text(api.result_identifier),
             String::from_utf8_lossy(&verified.payload()));
    check(verified.status() == VERIFIED && verified.text(api.result_identifier) == user, "token verifies");
    check(verified.payload() == payload, "payload comes back");

    // Magic link: issue, peek, consume, replay.
    let reset = cstr("reset-password");
    let base = cstr("https://app.example.com/reset");
    check((api.link_issue)(&mut r, engine, reset.as_ptr(), id.as_ptr(), user.len(), base.as_ptr(), ptr::null()) == 0, "link");
    let link = Outcome { api: &api, r };
    let (url, ltok) = (link.text(api.result_url), link.text(api.result_secret));
    println!("\nlink {url}");
    check(url.starts_with("https://app.example.com/reset?token="), "link URL");
    let lt = cstr(&ltok);
    let steps: [(&str, extern "C" fn(*mut *mut VkResult, *mut Engine, *const c_char, *const c_char, usize) -> c_int, c_int); 3] =
        [("peek", api.link_peek, VALID), ("consume", api.link_consume, VERIFIED), ("consume again", api.link_consume, NOT_FOUND)];
    for (step, f, want) in steps {
        check(f(&mut r, engine, reset.as_ptr(), lt.as_ptr(), ltok.len()) == 0, step);
        let o = Outcome { api: &api, r };
        println!("{step} -> {}", name(o.status()));
        check(o.status() == want, step);
    }

    drop(link);
    drop(verified);
    drop(issued);
    (api.engine_free)(engine);
    if failures > 0 {
        println!("\nSOME FLOWS FAILED");
        std::process::exit(1);
    }
    println!("\nall flows behaved as documented");
}
