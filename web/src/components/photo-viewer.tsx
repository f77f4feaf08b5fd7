import type { Message } from '../api.js';
import { Modal } from './modal.js';

/** A photo at full size; Escape, the close button or a click outside closes it. */
export function PhotoViewer({ message: m, onClose }: { message: Message; onClose(): void }) {
  const caption = m.media?.caption ?? m.text;
  return (
    <Modal label="Photo" className="photo-viewer" onClose={onClose}>
      <form method="dialog" className="modal-close-row">
        <button type="submit" className="icon" aria-label="Close photo" autoFocus>
          ×
        </button>
      </form>
      <img src={m.media?.url ?? ''} alt={caption ?? 'photo'} />
      {caption && <p className="muted">{caption}</p>}
    </Modal>
  );
}
