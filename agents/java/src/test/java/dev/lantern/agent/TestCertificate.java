package dev.lantern.agent;

import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/** Owns a throw-away self-signed certificate made with the JDK's keytool, as the appliance makes its own. */
final class TestCertificate {
    static final char[] PASSWORD = "changeit".toCharArray();

    final File keystore;
    final X509Certificate certificate;

    private TestCertificate(File keystore, X509Certificate certificate) {
        this.keystore = keystore;
        this.certificate = certificate;
    }

    /** keyalg "EC" (P-256, like the appliance) or "RSA". */
    static TestCertificate create(String keyalg) throws Exception {
        File dir = Files.createTempDirectory("lantern-cert").toFile();
        dir.deleteOnExit();
        File ks = new File(dir, "server.p12");
        ks.deleteOnExit();
        String keytool = new File(System.getProperty("java.home"), "bin/keytool").getPath();
        ProcessBuilder pb = new ProcessBuilder(keytool, "-genkeypair", "-alias", "lantern", "-keyalg", keyalg,
            keyalg.equals("EC") ? "-groupname" : "-keysize", keyalg.equals("EC") ? "secp256r1" : "2048",
            "-dname", "CN=lantern-test", "-validity", "2", "-storetype", "PKCS12",
            "-keystore", ks.getPath(), "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("keytool failed: " + out);
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(ks)) {
            store.load(in, PASSWORD);
        }
        return new TestCertificate(ks, (X509Certificate) store.getCertificate("lantern"));
    }

    String pin() {
        return Pins.format(Pins.digest(certificate.getPublicKey()));
    }

    String pem() throws Exception {
        return "-----BEGIN CERTIFICATE-----\n"
            + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(certificate.getEncoded())
            + "\n-----END CERTIFICATE-----\n";
    }
}
