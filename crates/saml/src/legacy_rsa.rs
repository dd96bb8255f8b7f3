//! RSA-OAEP decryption for SP keys under 2048 bits, which aws-lc-rs's safe API refuses but
//! older SP configurations (and Okta's test tenants) still use. Calls AWS-LC's EVP interface
//! directly; this is the crate's only unsafe code.
#![allow(unsafe_code)]

use aws_lc_sys as ffi;

/// Parses a PKCS#8 or PKCS#1 RSA private key; true when it is one.
pub fn is_rsa_private_key(der: &[u8]) -> bool {
    with_key(der, |_| Some(())).is_some()
}

/// OAEP-decrypts `wrapped` with MGF1 and the digest both SHA-1 or both SHA-256.
pub fn oaep_decrypt(der: &[u8], sha256: bool, wrapped: &[u8]) -> Option<Vec<u8>> {
    with_key(der, |pkey| {
        // SAFETY: pkey is a valid EVP_PKEY for the duration of this closure; every pointer
        // passed below is either freshly allocated here and freed before return, or a slice
        // whose length is passed alongside it.
        unsafe {
            let ctx = ffi::EVP_PKEY_CTX_new(pkey, std::ptr::null_mut());
            if ctx.is_null() {
                return None;
            }
            let md = if sha256 { ffi::EVP_sha256() } else { ffi::EVP_sha1() };
            let mut out_len: usize = 0;
            let ok = ffi::EVP_PKEY_decrypt_init(ctx) == 1
                && ffi::EVP_PKEY_CTX_set_rsa_padding(ctx, ffi::RSA_PKCS1_OAEP_PADDING) == 1
                && ffi::EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1
                && ffi::EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1
                && ffi::EVP_PKEY_decrypt(ctx, std::ptr::null_mut(), &mut out_len, wrapped.as_ptr(), wrapped.len()) == 1;
            let result = if ok {
                let mut out = vec![0u8; out_len];
                if ffi::EVP_PKEY_decrypt(ctx, out.as_mut_ptr(), &mut out_len, wrapped.as_ptr(), wrapped.len()) == 1 {
                    out.truncate(out_len);
                    Some(out)
                } else {
                    None
                }
            } else {
                None
            };
            ffi::EVP_PKEY_CTX_free(ctx);
            result
        }
    })
}

fn with_key<T>(der: &[u8], f: impl FnOnce(*mut ffi::EVP_PKEY) -> Option<T>) -> Option<T> {
    let len = std::os::raw::c_long::try_from(der.len()).ok()?;
    // SAFETY: d2i_* read at most `len` bytes from `p`, which points into `der`; the returned
    // object is freed below.
    unsafe {
        let mut p = der.as_ptr();
        let mut pkey = ffi::d2i_AutoPrivateKey(std::ptr::null_mut(), &mut p, len);
        if pkey.is_null() {
            let mut p = der.as_ptr();
            let rsa = ffi::d2i_RSAPrivateKey(std::ptr::null_mut(), &mut p, len);
            if rsa.is_null() {
                return None;
            }
            pkey = ffi::EVP_PKEY_new();
            if pkey.is_null() || ffi::EVP_PKEY_assign_RSA(pkey, rsa) != 1 {
                ffi::RSA_free(rsa);
                ffi::EVP_PKEY_free(pkey);
                return None;
            }
        }
        let result = if ffi::EVP_PKEY_id(pkey) == ffi::EVP_PKEY_RSA { f(pkey) } else { None };
        ffi::EVP_PKEY_free(pkey);
        result
    }
}
