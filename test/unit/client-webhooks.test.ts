import { describe, expect, it } from 'vitest';
import {
  EVENT_HINTS, EVENT_TYPES, eventHint, eventTypesFor, checkWebhookForm, endpointHealth, endpointHealthText, hasOpenDeliveries, sentence, webhookBody, webhookFieldError,
} from '../../client/src/lib/webhooks-data.ts';
import { WEBHOOK_EVENT_TYPES } from '../../server/core/webhooks.ts';

describe('the Webhooks page, pure parts', () => {
  it("offers exactly the server's event types, in its order, each with a hint", () => {
    expect([...EVENT_TYPES]).toEqual([...WEBHOOK_EVENT_TYPES]);
    for (const t of EVENT_TYPES) expect(EVENT_HINTS[t]).toBeTruthy();
  });

  it('offers each organisation the events it can receive, worded for it (an operator found only forwarder events)', () => {
    const op = eventTypesFor('operator');
    const fwd = eventTypesFor('forwarder');
    expect(op).toContain('auction.closed');
    expect(op).not.toContain('auction.won');
    expect(op).not.toContain('watch.matched');
    expect(fwd).toContain('auction.won');
    expect(fwd).not.toContain('auction.closed');
    // every type is offered to someone; schedulers and the platform receive none (the page says so)
    expect(new Set([...op, ...fwd])).toEqual(new Set(EVENT_TYPES));
    expect(eventTypesFor('scheduler')).toEqual([]);
    expect(eventTypesFor('platform')).toEqual([]);
    expect(eventHint('booking.confirmed', 'operator')).toMatch(/your departures/);
    expect(eventHint('booking.confirmed', 'forwarder')).toBe(EVENT_HINTS['booking.confirmed']);
  });

  it('the form asks for a URL and at least one event; the body keeps the list order and drops an empty description', () => {
    expect(checkWebhookForm({ url: ' ', events: [], description: '' })).toEqual({ url: expect.any(String), events: expect.any(String) });
    expect(checkWebhookForm({ url: 'https://x.test/h', events: ['hold.expired'], description: 'x'.repeat(501) })).toEqual({ description: expect.any(String) });
    expect(webhookBody({ url: ' https://x.test/h ', events: ['invoice.issued', 'booking.confirmed'], description: '  ' })).toEqual({
      url: 'https://x.test/h',
      events: ['booking.confirmed', 'invoice.issued'],
    });
    expect(webhookBody({ url: 'https://x.test/h', events: ['ping'], description: ' TMS ' })).toEqual({ url: 'https://x.test/h', events: [], description: 'TMS' });
  });

  it("ties the server's 400s to their field", () => {
    expect(webhookFieldError('url_scheme_not_allowed', 'only https URLs')).toBe('url');
    expect(webhookFieldError('address_not_allowed', 'deliveries to loopback addresses are not allowed')).toBe('url');
    expect(webhookFieldError('invalid_input', 'body/events/0 must be equal to one of the allowed values')).toBe('events');
    expect(webhookFieldError('invalid_input', 'body/description must NOT have more than 500 characters')).toBe('description');
    expect(webhookFieldError('invalid_input', 'something else')).toBeNull();
    expect(sentence('only https URLs')).toBe('Only https URLs.');
    expect(sentence('')).toBe('The request was not valid.');
  });

  it('says in words whether an endpoint is enabled, failing or disabled, and whether a log still moves', () => {
    const w = { enabled: true, disabledReason: null, consecutiveFailures: 0 } as const;
    expect(endpointHealth(w)).toBe('ok');
    expect(endpointHealthText({ ...w, consecutiveFailures: 3 })).toMatch(/failing: 3 failed attempts/);
    expect(endpointHealth({ enabled: false, disabledReason: 'admin', consecutiveFailures: 0 })).toBe('disabled');
    expect(endpointHealth({ enabled: false, disabledReason: 'failing', consecutiveFailures: 50 })).toBe('disabled-failing');
    expect(hasOpenDeliveries([{ status: 'succeeded' }, { status: 'failed' }])).toBe(false);
    expect(hasOpenDeliveries([{ status: 'succeeded' }, { status: 'pending' }])).toBe(true);
  });
});
