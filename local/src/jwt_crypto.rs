//! jsonwebtoken's cryptography on ring, the library rustls already builds here.
//!
//! From 10.0 on, jsonwebtoken leaves its cryptography to a process-wide `CryptoProvider`: its
//! own are aws-lc-rs (a second C crypto library to build beside ring) or RustCrypto (whose `rsa`
//! crate carries RUSTSEC-2023-0071, with no fixed version). The verifier needs two algorithms,
//! RS256 and ES256 ([`crate::jwt`] refuses every other before a key is looked at), which ring
//! verifies; this provider verifies those and refuses the rest. It signs nothing: nothing in this
//! server issues tokens (the tests install a provider of their own that also signs, over
//! [`verifier_for`]).

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey};

/// The provider: RS256 and ES256 verification on ring.
pub static RING_VERIFIER: CryptoProvider =
    CryptoProvider { signer_factory: refuse_to_sign, verifier_factory: verifier_for, jwk_utils: JwkUtils::new_unimplemented() };

/// Makes [`RING_VERIFIER`] the process's provider, unless one was chosen already (a test's).
pub fn install() {
    let _ = RING_VERIFIER.install_default();
}

fn refuse_to_sign(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

/// A verifier of `algorithm` with `key`, for RS256 and ES256 only.
pub fn verifier_for(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let family = match algorithm {
        Algorithm::RS256 => AlgorithmFamily::Rsa,
        Algorithm::ES256 => AlgorithmFamily::Ec,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    if key.family() != family {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(RingVerifier { algorithm: *algorithm, key: key.clone() }))
}

struct RingVerifier {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match (self.algorithm, self.key.kind()) {
            (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
            }
            (Algorithm::RS256, DecodingKeyKind::SecretOrDer(der)) => UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).verify(message, signature),
            // A JWK's EC key is held as the uncompressed point, as ring reads it.
            (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature),
            _ => return Err(signature::Error::new()),
        };
        // ring says only that it did not verify (`Unspecified`), as it should.
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}
