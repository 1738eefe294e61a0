package dev.lantern.agent;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.Base64;
import java.util.List;

/**
 * Owns the SPKI pin format of the appliance: {@code sha256/} + standard padded base64 of the
 * SHA-256 of the certificate's DER SubjectPublicKeyInfo, which is what
 * {@link PublicKey#getEncoded()} returns for X.509 keys.
 */
final class Pins {
    static final String PREFIX = "sha256/";

    private Pins() {}

    /** The 32-byte digest in {@code pin}, or null when it is not a well-formed pin. */
    static byte[] parse(String pin) {
        if (!pin.startsWith(PREFIX)) {
            return null;
        }
        try {
            byte[] digest = Base64.getDecoder().decode(pin.substring(PREFIX.length()));
            return digest.length == 32 ? digest : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    static byte[] digest(PublicKey key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
        } catch (NoSuchAlgorithmException e) {
            // Every Java SE runtime must offer SHA-256.
            throw new IllegalStateException(e);
        }
    }

    static String format(byte[] digest) {
        return PREFIX + Base64.getEncoder().encodeToString(digest);
    }

    static boolean matches(byte[] digest, List<byte[]> pins) {
        for (byte[] pin : pins) {
            if (MessageDigest.isEqual(pin, digest)) {
                return true;
            }
        }
        return false;
    }

    /** "sha256/A, sha256/B" for log lines. */
    static String describe(List<byte[]> pins) {
        StringBuilder b = new StringBuilder();
        for (byte[] pin : pins) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(format(pin));
        }
        return b.toString();
    }
}
