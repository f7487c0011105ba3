import { useId, type ReactNode } from 'react';
import type { UpdateSignature } from '../../main/updater/state';

/**
 * Shows who signed the update. A verified update gets one line with the
 * trusted key's id. An unsigned update gets a warning note, because the
 * updater then has no trusted keys and checks the download only against the
 * SHA-256 that the release itself publishes, if it publishes one.
 */
export function SignatureNotice({ signature }: { signature: UpdateSignature }): ReactNode {
  const titleId = useId();
  if (signature.status === 'verified') {
    const key = signature.keyId === null ? '' : ` (${signature.keyId})`;
    return <p className="signature-verified">{`Signed by a trusted key${key}`}</p>;
  }
  return (
    <div role="note" aria-labelledby={titleId} className="signature-warning">
      <p>
        <strong id={titleId}>This release is not signature-checked.</strong> No trusted signing key is configured, so
        nothing proves who published it. The download is checked only against the SHA-256 checksum that the release
        lists, when it lists one.
      </p>
    </div>
  );
}
