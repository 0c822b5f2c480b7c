/**
 * The dialogs behind the message and room actions: retract, report, hide, mute, ban and
 * the room settings. Each asks in a modal form and calls the API or the socket.
 * @module views/room-dialogs
 */
import { api } from '../api.js';
import { formDialog } from '../dialog.js';
import { personPicker } from '../people.js';

/**
 * @typedef {{slug: string, store: import('../store.js').Store, sync: import('../sync.js').Sync, announcer: import('../announcer.js').Announcer}} RoomCtx
 */

/**
 * Ask, then withdraw one's own message.
 * @param {RoomCtx} ctx
 * @param {import('../store.js').Message} m
 */
export function retractDialog(ctx, m) {
  formDialog({
    title: 'Bericht intrekken?',
    intro: 'Je bericht verdwijnt voor iedereen. Dit kun je niet ongedaan maken.',
    fields: [],
    submitLabel: 'Intrekken',
    danger: true,
    onSubmit: () => {
      if (!ctx.sync.retract(ctx.slug, m.message_id)) throw new Error('Geen verbinding. Probeer het zo opnieuw.');
      ctx.announcer.say('Bericht ingetrokken.');
    },
  });
}

/**
 * Report a message to the moderators.
 * @param {RoomCtx} ctx
 * @param {import('../store.js').Message} m
 * @param {string} who
 */
export function reportDialog(ctx, m, who) {
  formDialog({
    title: `Bericht van ${who} melden`,
    intro: 'De moderatoren krijgen je melding te zien.',
    fields: [{ name: 'reason', label: 'Waarom meld je dit bericht?', type: 'textarea', required: true, maxlength: 500 }],
    submitLabel: 'Melden',
    onSubmit: async (v) => {
      await api.report(ctx.slug, m.message_id, v.reason);
      ctx.announcer.say('Melding verstuurd. Dank je wel.');
    },
  });
}

/**
 * Hide a message (moderation), with a reason for the audit log.
 * @param {RoomCtx} ctx
 * @param {import('../store.js').Message} m
 * @param {string} who
 */
export function hideDialog(ctx, m, who) {
  formDialog({
    title: `Bericht van ${who} verbergen`,
    intro: 'Het bericht verdwijnt voor iedereen; de tekst blijft bewaard voor het archief.',
    fields: [{ name: 'reason', label: 'Reden (komt in het auditlog)', type: 'textarea', required: true, maxlength: 500 }],
    submitLabel: 'Verbergen',
    danger: true,
    onSubmit: async (v) => {
      await api.hide(ctx.slug, m.message_id, v.reason);
      ctx.announcer.say('Bericht verborgen.');
    },
  });
}

/**
 * Mute a participant in the room for some minutes.
 * @param {RoomCtx} ctx
 * @param {string} username
 * @param {string} who
 */
export function muteDialog(ctx, username, who) {
  formDialog({
    title: `${who} dempen in deze kamer`,
    intro: 'Een gedempte deelnemer kan nog lezen, maar niet schrijven.',
    fields: [
      { name: 'minutes', label: 'Hoe lang (minuten)', type: 'number', value: 60, min: 1, max: 525600, required: true },
      { name: 'reason', label: 'Reden', type: 'textarea', required: true, maxlength: 500 },
    ],
    submitLabel: 'Dempen',
    danger: true,
    onSubmit: async (v) => {
      const minutes = Number(v.minutes);
      if (!Number.isInteger(minutes) || minutes < 1) throw new Error('Vul een geheel aantal minuten in (minstens 1).');
      await api.mute(ctx.slug, { username, minutes, reason: v.reason });
      ctx.announcer.say(`${who} is gedempt.`);
    },
  });
}

/**
 * Ban a participant from the room, optionally until a moment.
 * @param {RoomCtx} ctx
 * @param {string} username
 * @param {string} who
 */
export function banDialog(ctx, username, who) {
  formDialog({
    title: `${who} verbannen uit deze kamer`,
    intro: 'De deelnemer kan deze kamer niet meer lezen of er schrijven.',
    fields: [
      { name: 'reason', label: 'Reden', type: 'textarea', required: true, maxlength: 500 },
      { name: 'until', label: 'Tot (leeg: tot het wordt opgeheven)', type: 'datetime-local' },
    ],
    submitLabel: 'Verbannen',
    danger: true,
    onSubmit: async (v) => {
      /** @type {{username: string, reason: string, until?: string}} */
      const body = { username, reason: v.reason };
      // Sent as typed, without a zone: the server reads it as Dutch time, wherever the browser is.
      if (v.until) body.until = v.until;
      await api.ban(ctx.slug, body);
      ctx.announcer.say(`${who} is verbannen uit deze kamer.`);
    },
  });
}

/**
 * Topic, lock, archive, slow mode and lifting a ban.
 * @param {RoomCtx} ctx
 */
export function roomSettingsDialog(ctx) {
  const room = ctx.store.rooms.get(ctx.slug);
  if (!room) return;
  /** @type {ReturnType<typeof personPicker>|null} */
  let unban = null;
  formDialog({
    title: `Kamerbeheer: ${room.name}`,
    fields: [
      { name: 'topic', label: 'Onderwerp', type: 'text', value: room.topic ?? '', maxlength: 300 },
      { name: 'locked', label: 'Gesloten (alleen lezen)', type: 'checkbox', value: room.locked },
      { name: 'archived', label: 'Gearchiveerd', type: 'checkbox', value: room.archived },
      {
        name: 'slow', label: 'Langzame modus: seconden tussen twee berichten van een deelnemer (0 = uit)',
        type: 'number', min: 0, max: 3600, value: room.slow_mode_seconds ?? '',
        hint: room.slow_mode_seconds === null ? 'Leeg laten: niet veranderen.' : undefined,
      },
      { name: 'reason', label: 'Reden (komt in het auditlog)', type: 'text', maxlength: 500 },
      { name: 'unban', label: 'Verbanning opheffen voor (optioneel): typ een naam', type: 'text', maxlength: 200 },
    ],
    submitLabel: 'Opslaan',
    onSubmit: async (v) => {
      /** @type {{topic?: string, locked?: boolean, archived?: boolean, slow_mode_seconds?: number, reason?: string}} */
      const patch = {};
      if (v.topic !== (room.topic ?? '')) patch.topic = v.topic;
      if (v.locked !== room.locked) patch.locked = v.locked;
      if (v.archived !== room.archived) patch.archived = v.archived;
      if (v.slow !== '' && Number(v.slow) !== room.slow_mode_seconds) {
        const seconds = Number(v.slow);
        if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) throw new Error('Vul voor de langzame modus 0 tot 3600 seconden in.');
        patch.slow_mode_seconds = seconds;
      }
      if (Object.keys(patch).length) {
        if (v.reason) patch.reason = v.reason;
        const res = await api.patchRoom(ctx.slug, patch);
        const updated = res && typeof res === 'object' ? (res.room ?? res) : {};
        Object.assign(room, {
          topic: updated.topic !== undefined ? updated.topic : (patch.topic ?? room.topic),
          locked: typeof updated.locked === 'boolean' ? updated.locked : (patch.locked ?? room.locked),
          archived: typeof updated.archived === 'boolean' ? updated.archived : (patch.archived ?? room.archived),
          slow_mode_seconds: typeof updated.slow_mode_seconds === 'number' ? updated.slow_mode_seconds : (patch.slow_mode_seconds ?? room.slow_mode_seconds),
        });
        ctx.store.emit('rooms');
      }
      const banned = unban ? unban.username() : v.unban;
      if (v.unban && !banned) throw new Error('Kies de persoon uit de lijst met namen.');
      if (banned) await api.unban(ctx.slug, banned);
      ctx.announcer.say('Kamer bijgewerkt.');
    },
  });
  // People by name: the dialog is open now, its unban field becomes a person picker.
  const field = document.querySelector('dialog[open] input[name="unban"]');
  if (field instanceof HTMLInputElement) unban = personPicker(field);
}
