-- ArbiBase messaging, 5: the app's stricter message content rules for direct clients too
-- (pen test, issue #9, findings 4 and 11; the app: services/validation.py, messages.py).
--
-- attachment_url: "/\evil.example/x" passed the site-path rule, and a browser opens "/\host"
-- like "//host": another site. Now an http(s) URL without spaces, control or invisible
-- format characters or backslashes, or exactly the app's own attachment route
-- `/api/attachments/<uuid>` (optionally `?variant=thumbnail`).
-- metadata: also nested at most 32 levels (an object nested hundreds of levels deep cannot be
-- serialized by the app's API; its reads now show such a row's metadata as {}).
-- Same signature: the policies that call it and its grants stay as they are.
create or replace function messaging_private.valid_message_content(
  p_body text, p_attachment_url text, p_metadata jsonb
)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select (p_body is null or pg_catalog.char_length(p_body) <= 10000)
    and (p_body ~ '[^[:space:]]' or p_attachment_url is not null)
    and (p_attachment_url is null
         or p_attachment_url ~ ('^(https?://[^[:space:][:cntrl:]\\\u00a0\u1680\u180e\u2000-\u200f'
                                 '\u2028-\u202f\u205f-\u206f\u3000\ufeff]*'
                                 '|/api/attachments/[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}'
                                 '([?]variant=thumbnail)?)$'))
    and (p_metadata is null
         or (pg_catalog.jsonb_typeof(p_metadata) = 'object'
             and pg_catalog.octet_length(p_metadata::text) <= 16384
             and not pg_catalog.jsonb_path_exists(
               p_metadata, 'strict $.**{32} ? (@.type() == "object" || @.type() == "array")')))
$$;
