// The customer-center queue: open conversations of this person's stores (admins:
// all, site-wide ones too), live as they open, get messages and close; staff answer
// and close from here.

import * as API from '../api.js';
import { ChatLog, threadMessages } from '../chat.js';
import { t } from '../i18n.js';
import { $, el, showError, toast, eventText, busy } from '../ui.js';
import { ctx } from './ctx.js';

const open = new Map(); // id -> {conv, log, node}

function storeLabel(c) {
  if (c.store_id === null || c.store_id === undefined) return t('support.no_store');
  return c.store_name || ctx.stores.find((s) => s.id === c.store_id)?.name || `#${c.store_id}`;
}

export async function loadConversations() {
  const box = $('#conversations');
  open.clear();
  let convs;
  try {
    convs = API.list(await API.get('/support/conversations?status=open'), 'conversations');
  } catch (e) {
    return showError(e, $('#conv-msg'));
  }
  box.replaceChildren();
  if (convs.length === 0) box.append(el('p', { class: 'empty' }, t('admin.no_conversations')));
  for (const c of convs.slice(0, 20).reverse()) {
    const card = addConversation(c);
    try {
      threadMessages(await API.get(`/support/conversations/${c.id}`)).forEach((m) => card.log.add(m));
    } catch (e) {
      card.log.note(e.message);
    }
  }
}

function addConversation(c) {
  if (open.has(c.id)) return open.get(c.id);
  const logNode = el('div', { class: 'chat-log' });
  const input = el('input', { name: 'text', required: true, maxlength: '2000', autocomplete: 'off', placeholder: t('chat.placeholder'), 'aria-label': t('chat.placeholder') });
  const msg = el('p', { class: 'form-msg', role: 'alert' });
  const log = new ChatLog(logNode, ctx.me.id);
  const close = el('button', { class: 'btn-ghost small conv-close', type: 'button', onclick: (ev) => busy(ev.currentTarget, () => closeConversation(c.id, msg)) }, t('support.close'));
  const node = el('div', { class: 'conversation', dataset: { conversationId: c.id, storeId: c.store_id ?? '' } },
    el('h3', {}, el('span', {}, `${c.customer?.name || ''} #${c.id}`), el('small', { class: 'muted conv-store' }, storeLabel(c)), close),
    logNode,
    el('form', {
      class: 'chat-form',
      onsubmit: (ev) => {
        ev.preventDefault();
        busy(ev.submitter, async () => {
          try {
            const r = await API.post(`/support/conversations/${c.id}/messages`, { text: input.value.trim() });
            log.add(r.message || r);
            input.value = '';
            msg.textContent = '';
          } catch (e) {
            showError(e, msg);
          }
        });
      },
    }, input, el('button', { class: 'btn', type: 'submit' }, t('admin.reply'))),
    msg);
  const box = $('#conversations');
  box.querySelector('.empty')?.remove();
  box.prepend(node);
  const entry = { conv: c, log, node };
  open.set(c.id, entry);
  return entry;
}

async function closeConversation(id, msg) {
  try {
    await API.post(`/support/conversations/${id}/close`);
    removeConversation(id);
    toast(t('support.closed'), 'ok');
  } catch (e) {
    showError(e, msg);
  }
}

function removeConversation(id) {
  open.get(id)?.node.remove();
  open.delete(id);
  if (open.size === 0 && !$('#conversations .empty')) $('#conversations').append(el('p', { class: 'empty' }, t('admin.no_conversations')));
}

export function onSupportEvent(env) {
  const d = env.data || {};
  switch (env.type) {
    case 'support.opened':
      if (d.conversation) {
        const c = addConversation(d.conversation);
        if (d.message) c.log.add(d.message);
      }
      toast(eventText(env));
      break;
    case 'support.message': {
      const id = d.conversation_id ?? d.message?.conversation_id;
      const c = open.get(id);
      if (c) c.log.add(d.message);
      else loadConversations();
      if (d.message?.sender?.id !== ctx.me.id) toast(eventText(env));
      break;
    }
    case 'support.closed': {
      const id = d.conversation?.id ?? d.conversation_id;
      if (open.has(id)) removeConversation(id);
      break;
    }
    default:
  }
}
