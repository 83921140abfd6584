// A conversation's message log, shared by the customer's chat and the console:
// messages are keyed by id, so the answer to a send and its live event never
// show the same message twice.

import { el } from './ui.js';
import { t, fmtTime } from './i18n.js';

export class ChatLog {
  constructor(node, myUserId) {
    this.node = node;
    this.me = myUserId;
    this.seen = new Set();
    this.node.dataset.empty = t('chat.empty');
  }

  clear() {
    this.seen.clear();
    this.node.replaceChildren();
  }

  /** Adds a message ({id, sender: {id, name}, text, created_at}) unless shown already. */
  add(m) {
    if (!m || m.id === undefined || this.seen.has(m.id)) return false;
    this.seen.add(m.id);
    const senderId = m.sender?.id ?? m.sender_id ?? m.author_id;
    const mine = senderId === this.me;
    const who = mine ? t('chat.you') : (m.sender?.name || t('chat.staff'));
    this.node.append(el('div', { class: `msg${mine ? ' mine' : ''}`, dataset: { messageId: m.id } },
      el('small', {}, `${who} · ${fmtTime(m.created_at)}`), m.text));
    this.node.scrollTop = this.node.scrollHeight;
    return true;
  }

  note(text) {
    this.node.append(el('div', { class: 'empty' }, text));
  }
}

/** The messages of a thread answer, whatever its wrapping. */
export function threadMessages(thread) {
  if (!thread) return [];
  if (Array.isArray(thread.messages)) return thread.messages;
  if (Array.isArray(thread.conversation?.messages)) return thread.conversation.messages;
  return [];
}

export function threadConversation(thread) {
  return thread?.conversation || thread;
}
