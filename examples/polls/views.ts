// The polls app's views: plain functions of a request, one of them streaming.
import { once } from 'node:events';
import { httpError } from '../../server/errors.ts';
import { respond, type ViewRequest } from '../../server/views.ts';
import type { Poll, Polls } from './models.ts';

export function pollViews(polls: Polls) {
  function pollOr404(req: ViewRequest): Poll {
    const poll = polls.get(req.params.id as number);
    if (!poll) throw httpError('not_found', `No poll ${req.params.id}`);
    return poll;
  }

  return {
    index: () => polls.all().map(({ id, question }) => ({ id, question })),

    detail: (req: ViewRequest) => pollOr404(req),

    vote(req: ViewRequest) {
      const poll = pollOr404(req);
      const choiceId = (req.body as { choice?: unknown } | undefined)?.choice;
      const choice = poll.choices.find((c) => c.id === choiceId);
      if (!choice) throw httpError('bad_parameter', '"choice" must be the id of one of the poll\'s choices', { parameter: 'choice' });
      polls.vote(poll, choice);
      return poll;
    },

    /** The poll's results now, then again after every vote, one JSON line each. */
    results(req: ViewRequest) {
      const poll = pollOr404(req);
      async function* lines() {
        yield JSON.stringify(poll.choices) + '\n';
        for (;;) {
          await once(polls.events, `vote:${poll.id}`, { signal: req.signal });
          yield JSON.stringify(poll.choices) + '\n';
        }
      }
      return respond(lines(), { headers: { 'content-type': 'application/x-ndjson' } });
    },
  };
}
