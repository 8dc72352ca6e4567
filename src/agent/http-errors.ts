// Turn a network error from undici into a sentence a person can act on, and say whether
// trying again can help.

export interface NetworkProblem {
  message: string;
  retryable: boolean;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_NOT_YET_VALID',
]);

export function describeNetworkError(err: unknown, url: string): NetworkProblem {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code && !e.code.startsWith('UND_ERR_SOCKET') ? e.code : e?.cause?.code ?? e?.code;
  const host = safeHost(url);
  switch (code) {
    case 'ECONNREFUSED':
      return { retryable: true, message: `connection to ${host} refused: is Jenkins running there, and is the port in the URL right?` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { retryable: true, message: `host name ${host} does not resolve: check the URL and the task's DNS (VPC settings)` };
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { retryable: true, message: `connecting to ${host} timed out: check security groups / network ACLs between the agent and the controller` };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { retryable: true, message: `${host} accepted the connection but did not answer in time` };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { retryable: true, message: `${host} closed the connection (a proxy or load balancer in between?)` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { retryable: true, message: `no route to ${host}: check the task's subnets and routes` };
  }
  if (code && TLS_CODES.has(code)) {
    return {
      retryable: false,
      message: `TLS certificate of ${host} is not trusted (${code}): add its CA to this host's store (update-ca-certificates, or a file in SSL_CERT_DIR) ` +
        '(and to the JVM for remoting), or pass -disableHttpsCertValidation to skip verification',
    };
  }
  return { retryable: true, message: `request to ${url} failed: ${code ?? ''} ${e?.message ?? String(err)}`.replace(/\s+/g, ' ') };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
