// The chat body media-type rule, header by header: what the gateway reads is what body-parser 2's `json`
// reads the same way (application/json, UTF-8, no content coding); everything else is refused.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.ts';
import { assertJsonChatBody } from './body-media-type.ts';

function verdict(headers: Record<string, string>): 'read' | 'refused' {
  try {
    assertJsonChatBody(headers);
    return 'read';
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('invalid_request');
    return 'refused';
  }
}

describe('assertJsonChatBody', () => {
  it.each([
    'application/json', 'APPLICATION/JSON', ' application/json ', 'application/json;charset=utf-8',
    'application/json; charset=UTF-8', 'application/json; charset="utf-8"', 'application/json ; charset = utf-8',
    'application/json; foo=bar', 'application/json; foo="a;b\\"c"; charset=utf-8',
  ])('reads %j', (contentType) => {
    expect(verdict({ 'content-type': contentType })).toBe('read');
    expect(verdict({ 'content-type': contentType, 'content-encoding': 'identity' })).toBe('read');
  });

  it.each([
    '', 'json', 'application/', '/json', 'application/json/x', 'application/jsonp', 'application/ld+json', 'text/json',
    'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain',
    'application/json;', 'application/json; charset', 'application/json; charset=', 'application/json; charset="utf-8',
    'application/json charset=utf-8', 'application/json; charset=utf-7', 'application/json; charset=utf-16le',
    'application/json; charset=utf8', 'application/json; charset=latin1', 'application/json; charset=us-ascii',
    'application/json; charset=utf-8; charset=utf-7', 'application/json; charset=utf-8; CHARSET=utf-8',
  ])('refuses %j', (contentType) => {
    expect(verdict({ 'content-type': contentType })).toBe('refused');
  });

  it('refuses a missing header and any content coding', () => {
    expect(verdict({})).toBe('refused');
    for (const coding of ['gzip', 'deflate', 'br', 'identity, gzip', 'x-unknown']) {
      expect(verdict({ 'content-type': 'application/json', 'content-encoding': coding })).toBe('refused');
    }
  });
});
