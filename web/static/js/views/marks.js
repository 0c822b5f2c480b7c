/**
 * Message actions to mark a message as vraag, besluit or actiepunt (owner and due date
 * for an actiepunt; the due date defaults to the room's next meeting on the server); to
 * take a mark away, set an actiepunt's status, mark a reply as the answer to its question,
 * and tag a message with themes (so area-room messages reach the overview).
 * The room view adds these to each visible message's actions menu.
 * @module views/marks
 */
import { between } from '../between.js';
import { personPicker } from '../people.js';

/**
 * @param {string} slug
 * @param {import('../store.js').Message} m
 * @param {{say: (text: string) => void}} announcer
 * @param {(opts: any) => Promise<boolean>} formDialog
 * @param {(id: string|number) => import('../store.js').Message|undefined} [find] a message of the room by id
 * @returns {import('./message.js').Action[]}
 */
export function markActions(slug, m, announcer, formDialog, find) {
  if (m.hidden) return [];
  const simple = (/** @type {string} */ kind, /** @type {string} */ done) => async () => {
    try {
      await between.mark(slug, m.message_id, { kind });
      announcer.say(done);
    } catch (err) {
      announcer.say(`Markeren lukte niet: ${/** @type {any} */ (err).message ?? err}`);
    }
  };
  const attempt = (/** @type {() => Promise<unknown>} */ fn, /** @type {string} */ done) => async () => {
    try {
      await fn();
      announcer.say(done);
    } catch (err) {
      announcer.say(`Dat lukte niet: ${/** @type {any} */ (err).message ?? err}`);
    }
  };
  /** @type {import('./message.js').Action[]} */
  const more = [];
  const question = m.reply_to && find ? find(m.reply_to) : undefined;
  if (question?.mark?.kind === 'vraag' && !question.mark.answered) {
    more.push({ label: 'Dit beantwoordt de vraag', run: attempt(() => between.answered(slug, question.message_id, m.message_id), 'De vraag is als beantwoord gemarkeerd.') });
  }
  if (m.mark?.kind === 'actiepunt') {
    for (const [status, label] of ACTION_STATUSES) {
      if ((m.mark.status ?? 'open') !== status) {
        more.push({ label, run: attempt(() => between.actionStatus(slug, m.message_id, status), `Actiepunt: ${status}.`) });
      }
    }
  }
  if (m.mark) more.push({ label: 'Markering weghalen', run: attempt(() => between.unmark(slug, m.message_id), 'Markering weggehaald.') });
  more.push({ label: "Thema's kiezen", run: () => themeDialog(slug, m, announcer, formDialog) });
  return [
    ...more,
    { label: 'Markeren als vraag', run: simple('vraag', 'Gemarkeerd als vraag.') },
    { label: 'Markeren als besluit', run: simple('besluit', 'Gemarkeerd als besluit.') },
    {
      label: 'Markeren als actiepunt',
      run: () => {
        /** @type {ReturnType<typeof personPicker>|null} */
        let owner = null;
        const done = formDialog({
          title: 'Markeren als actiepunt',
          intro: 'Zonder datum is het actiepunt voor de volgende bijeenkomst.',
          fields: [
            { name: 'owner', label: 'Eigenaar (optioneel): typ een naam', type: 'text', maxlength: 200 },
            { name: 'due', label: 'Uiterlijk (optioneel)', type: 'date' },
          ],
          submitLabel: 'Markeren',
          onSubmit: async (/** @type {Record<string, string>} */ v) => {
            /** @type {{kind: string, owner?: string, due?: string}} */
            const body = { kind: 'actiepunt' };
            const who = owner ? owner.username() : v.owner.replace(/^@/, '').toLowerCase();
            if (v.owner && !who) throw new Error('Kies de eigenaar uit de lijst met namen.');
            if (who) body.owner = who;
            if (v.due) body.due = v.due;
            await between.mark(slug, m.message_id, body);
            announcer.say('Gemarkeerd als actiepunt.');
          },
        });
        // The dialog is open now: its owner field becomes a person picker of this room.
        const field = document.querySelector('dialog[open] input[name="owner"]');
        if (field instanceof HTMLInputElement) owner = personPicker(field, { room: slug });
        return done;
      },
    },
  ];
}

/** An actiepunt's statuses as the menu offers them. */
const ACTION_STATUSES = [
  ['bezig', 'Actiepunt: bezig'],
  ['gedaan', 'Actiepunt: gedaan'],
  ['vervallen', 'Actiepunt: vervallen'],
  ['open', 'Actiepunt: weer open'],
];

/** @type {Promise<{slug: string, name: string}[]>|null} */
let themesRead = null;

/**
 * Tag a message with themes: a checkbox per theme of the community.
 * @param {string} slug @param {import('../store.js').Message} m
 * @param {{say: (text: string) => void}} announcer
 * @param {(opts: any) => Promise<boolean>} formDialog
 */
async function themeDialog(slug, m, announcer, formDialog) {
  themesRead ??= between.overview().then((d) => d.themes).catch(() => { themesRead = null; return []; });
  const themes = await themesRead;
  if (!themes.length) {
    announcer.say("Er zijn nog geen thema's.");
    return;
  }
  await formDialog({
    title: "Thema's van dit bericht",
    intro: "Een bericht met een thema telt mee in het overzicht van gebieden en thema's.",
    fields: themes.map((t) => ({ name: t.slug, label: t.name, type: 'checkbox' })),
    submitLabel: 'Opslaan',
    onSubmit: async (/** @type {Record<string, boolean>} */ v) => {
      await between.tag(slug, m.message_id, themes.filter((t) => v[t.slug]).map((t) => t.slug));
      announcer.say("Thema's opgeslagen.");
    },
  });
}
