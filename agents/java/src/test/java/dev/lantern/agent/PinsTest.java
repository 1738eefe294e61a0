package dev.lantern.agent;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The SPKI pin: computed like {@code openssl x509 -pubkey | openssl pkey -pubin -outform der |
 * openssl dgst -sha256 -binary | base64} on certificates made here, and enforced by the trust
 * manager.
 */
public class PinsTest {
    static String opensslPin(String pem) throws Exception {
        File f = File.createTempFile("lantern-cert", ".pem");
        try {
            Files.write(f.toPath(), pem.getBytes(StandardCharsets.US_ASCII));
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", "openssl x509 -in '" + f.getPath()
                + "' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64");
            Process p;
            try {
                p = pb.start();
            } catch (java.io.IOException e) {
                Check.skip("no sh/openssl here");
                return null;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || out.isEmpty() || err.contains("not found")) {
                Check.skip("openssl is not available: " + err.trim());
            }
            return "sha256/" + out;
        } finally {
            f.delete();
        }
    }

    @Test
    public void pinOfAnEcCertificateMatchesOpenssl() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        Check.equal(opensslPin(cert.pem()), cert.pin(), "EC P-256 pin");
        Check.isTrue(Pins.parse(cert.pin()) != null, "our own format parses");
    }

    @Test
    public void pinOfAnRsaCertificateMatchesOpenssl() throws Exception {
        TestCertificate cert = TestCertificate.create("RSA");
        Check.equal(opensslPin(cert.pem()), cert.pin(), "RSA pin");
    }

    @Test
    public void trustManagerAcceptsOnlyAPinnedKey() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        X509Certificate[] chain = {cert.certificate};
        byte[] right = Pins.parse(cert.pin());
        byte[] wrong = Pins.parse(OptionsTest.PIN_B);

        new PinningTrustManager(List.of(right)).checkServerTrusted(chain, "ECDHE_ECDSA");
        new PinningTrustManager(List.of(wrong, right)).checkServerTrusted(chain, "ECDHE_ECDSA", (javax.net.ssl.SSLEngine) null);

        PinningTrustManager tm = new PinningTrustManager(List.of(wrong));
        try {
            tm.checkServerTrusted(chain, "ECDHE_ECDSA", (javax.net.ssl.SSLEngine) null);
            throw new AssertionError("accepted an unpinned key");
        } catch (CertificateException expected) {
            Check.contains(expected.getMessage(), "got " + cert.pin(), "names the key it saw");
            Check.contains(expected.getMessage(), "expected " + OptionsTest.PIN_B, "names the pin it wanted");
        }
        Check.equal(cert.pin(), tm.takeLastMismatch(), "mismatch kept for the log line");
        Check.equal(null, tm.takeLastMismatch(), "and taken once");
        try {
            tm.checkClientTrusted(chain, "x");
            throw new AssertionError("a client certificate was trusted");
        } catch (CertificateException expected) {
            // the agent is only ever a client
        }
    }
}
