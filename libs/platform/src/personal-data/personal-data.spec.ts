import { randomBytes, randomUUID } from 'node:crypto';
import { PgliteDatabase } from '@caseline/event-store';
import { ERASED, PersonalData } from './personal-data';
import { PersonalDataKeys } from './personal-data-keys';

describe('personal data, opened values remembered', () => {
  let db: PgliteDatabase;
  let personalData: PersonalData;
  beforeAll(async () => {
    db = await PgliteDatabase.open();
    personalData = new PersonalData(await PersonalDataKeys.open(db, randomBytes(32)));
  });
  afterAll(() => db.close());

  const noteOf = async (personId: string, body: string) =>
    (await personalData.seal({ type: 'NoteAdded', data: { caseId: 'c', noteId: 'n', body, visibility: 'team' } }, personId)).data;

  it('opens the same value again, and a copy moved to another field still fails', async () => {
    const personId = randomUUID();
    const data = await noteOf(personId, 'asked to be called first');
    const marked = personalData.markOrigins('NoteAdded', data);
    expect(await personalData.openMarked(marked)).toEqual({ ...data, body: 'asked to be called first' });
    expect(await personalData.openMarked({ again: marked })).toEqual({ again: { ...data, body: 'asked to be called first' } });
    // The same ciphertext presented as another field's: authenticated for the note body only.
    const moved = { ...(marked.body as unknown as object), at: 'CaseClosed.note' };
    await expect(personalData.openMarked({ note: moved })).rejects.toThrow();
  });

  it('seals each value under its own nonce, across the blocks nonces are drawn in', async () => {
    const personId = randomUUID();
    const sealed = [];
    for (let i = 0; i < 700; i++) sealed.push(await noteOf(personId, 'same words every time'));
    const nonces = sealed.map((data) => Buffer.from((data.body as unknown as { v: string }).v, 'base64').subarray(0, 12).toString('hex'));
    expect(new Set(nonces).size).toBe(700);
    const forgetful = new PersonalData(await PersonalDataKeys.open(db, randomBytes(32)), 0);
    const fresh = await forgetful.seal({ type: 'NoteAdded', data: { caseId: 'c', noteId: 'n', body: 'b', visibility: 'team' } }, randomUUID());
    expect(nonces).not.toContain(Buffer.from((fresh.data.body as unknown as { v: string }).v, 'base64').subarray(0, 12).toString('hex'));
    for (const data of [sealed[0], sealed[255], sealed[256], sealed[699]]) expect((await personalData.open('NoteAdded', data)).body).toBe('same words every time');
  });

  it('shares what holds no sealed value with the state it opens', async () => {
    const personId = randomUUID();
    const ids = ['a', 'b'];
    const state = { noteIds: ids, note: personalData.markOrigins('NoteAdded', await noteOf(personId, 'x')) };
    const opened = await personalData.openMarked(state);
    expect(opened.noteIds).toBe(ids);
    expect(opened.note.body).toBe('x');
  });

  it('opens a part once for successive states that share it, unless told to remember nothing', async () => {
    const personId = randomUUID();
    const part = personalData.markOrigins('NoteAdded', await noteOf(personId, 'y'));
    const first = await personalData.openMarked({ version: 1, notes: { n1: part } });
    const second = await personalData.openMarked({ version: 2, notes: { n1: part, n2: 'plain' } });
    expect(second.notes.n1).toBe(first.notes.n1);
    expect(second.notes.n1.body).toBe('y');
    const forgetful = new PersonalData(await PersonalDataKeys.open(db, randomBytes(32)), 0);
    const sealed = forgetful.markOrigins('NoteAdded', (await forgetful.seal({ type: 'NoteAdded', data: { caseId: 'c', noteId: 'n', body: 'z', visibility: 'team' } }, randomUUID())).data);
    const once = await forgetful.openMarked({ n: sealed });
    const twice = await forgetful.openMarked({ n: sealed });
    expect(twice.n).toEqual(once.n);
    expect(twice.n).not.toBe(once.n);
  });

  it('forgets what it opened once the person is erased', async () => {
    const personId = randomUUID();
    const marked = personalData.markOrigins('NoteAdded', await noteOf(personId, 'lives by the river'));
    expect((await personalData.openMarked(marked)).body).toBe('lives by the river');
    await personalData.erase(personId);
    expect((await personalData.openMarked(marked)).body).toBe(ERASED);
    expect((await personalData.open('NoteAdded', marked)).body).toBe(ERASED);
  });
});
