/**
 * Message actions to mark a message as vraag, besluit or actiepunt (owner and due date
 * for an actiepunt; the due date defaults to the room's next meeting on the server).
 * The room view adds these to each visible message's actions menu.
 * @module views/marks
 */
import { between } from '../between.js';

/**
 * @param {string} slug
 * @param {import('../store.js').Message} m
 * @param {{say: (text: string) => void}} announcer
 * @param {(opts: any) => Promise<boolean>} formDialog
 * @returns {import('./message.js').Action[]}
 */
export function markActions(slug, m, announcer, formDialog) {
  if (m.hidden) return [];
  const simple = (/** @type {string} */ kind, /** @type {string} */ done) => async () => {
    try {
      await between.mark(slug, m.message_id, { kind });
      announcer.say(done);
    } catch (err) {
      announcer.say(`Markeren lukte niet: ${/** @type {any} */ (err).message ?? err}`);
    }
  };
  return [
    { label: 'Markeren als vraag', run: simple('vraag', 'Gemarkeerd als vraag.') },
    { label: 'Markeren als besluit', run: simple('besluit', 'Gemarkeerd als besluit.') },
    {
      label: 'Markeren als actiepunt',
      run: () => formDialog({
        title: 'Markeren als actiepunt',
        intro: 'Zonder datum is het actiepunt voor de volgende bijeenkomst.',
        fields: [
          { name: 'owner', label: 'Eigenaar (gebruikersnaam, optioneel)', type: 'text', maxlength: 32 },
          { name: 'due', label: 'Uiterlijk (optioneel)', type: 'date' },
        ],
        submitLabel: 'Markeren',
        onSubmit: async (/** @type {Record<string, string>} */ v) => {
          /** @type {{kind: string, owner?: string, due?: string}} */
          const body = { kind: 'actiepunt' };
          if (v.owner) body.owner = v.owner.replace(/^@/, '').toLowerCase();
          if (v.due) body.due = v.due;
          await between.mark(slug, m.message_id, body);
          announcer.say('Gemarkeerd als actiepunt.');
        },
      }),
    },
  ];
}
