package dev.lantern.agent;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Owns the decision whether the server is the appliance: the leaf certificate's public key must
 * hash to one of the configured pins. Nothing else is checked on purpose — the appliance's
 * certificate is self-signed, its names may not match how agents reach it, and the pin already
 * names the key exactly.
 *
 * <p>Why this also switches hostname verification off, for this client only: JSSE wraps a plain
 * {@code X509TrustManager} in a checker that applies the endpoint identification algorithm (the
 * JDK HTTP client sets "HTTPS"), but hands an {@link X509ExtendedTrustManager} the engine and
 * leaves endpoint identification to it. Ignoring it here means the application's own HTTP
 * clients keep full verification; the global {@code jdk.internal.httpclient.disableHostnameVerification}
 * property is never set.
 */
final class PinningTrustManager extends X509ExtendedTrustManager {
    private final List<byte[]> pins;
    /** The pin of the last certificate refused, for the log line; null when none was refused. */
    private volatile String lastMismatch;

    PinningTrustManager(List<byte[]> pins) {
        this.pins = pins;
    }

    String expected() {
        return Pins.describe(pins);
    }

    String takeLastMismatch() {
        String m = lastMismatch;
        lastMismatch = null;
        return m;
    }

    private void check(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the server sent no certificate");
        }
        byte[] digest = Pins.digest(chain[0].getPublicKey());
        if (!Pins.matches(digest, pins)) {
            String got = Pins.format(digest);
            lastMismatch = got;
            throw new CertificateException("server certificate pin mismatch: got " + got
                + ", expected " + Pins.describe(pins));
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
        throw new CertificateException("the Lantern agent does not accept client connections");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
        throw new CertificateException("the Lantern agent does not accept client connections");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the Lantern agent does not accept client connections");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
