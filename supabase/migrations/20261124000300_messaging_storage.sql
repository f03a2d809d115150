-- ArbiBase messaging, 3/3: the private Storage bucket for attachments.
--
-- Objects live at `{thread_id}/{attachment_id}` (thumbnails `{thread_id}/{attachment_id}.thumb.webp`),
-- the same keys as messaging_attachments.storage_key / thumbnail_key. Only the participants of
-- that thread read there; they upload there as themselves, and change or delete only the
-- objects they uploaded. The bucket is private: no public URLs (a public bucket is served
-- without any policy), downloads go through signed URLs or the authenticated API.

insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values (
  'message_attachments',
  'message_attachments',
  false,
  26214400, -- 25 MB, the app's MAX_ATTACHMENT_BYTES default
  array[
    -- the app's allowed types (arbibase_chat/services/attachments.py; thumbnails are WebP)
    'application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp',
    'application/msword',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.ms-excel',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'text/csv', 'text/plain'
  ]
)
on conflict (id) do update
set public = false,
    file_size_limit = excluded.file_size_limit,
    allowed_mime_types = excluded.allowed_mime_types;

-- The folder is compared as text: a cast of a malformed name to uuid would make every
-- listing of the bucket fail instead of simply not matching.

create policy "message_attachments: participants read" on storage.objects
  for select to authenticated
  using (
    storage.objects.bucket_id = 'message_attachments'
    and (storage.foldername(storage.objects.name))[1] in (
      select t.id::text
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

create policy "message_attachments: participants upload" on storage.objects
  for insert to authenticated
  with check (
    storage.objects.bucket_id = 'message_attachments'
    and storage.objects.owner_id = (select auth.uid())::text
    and (storage.foldername(storage.objects.name))[1] in (
      select t.id::text
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- Overwrite (upsert) or move only your own objects, and only within your threads' folders.
create policy "message_attachments: uploaders update their own" on storage.objects
  for update to authenticated
  using (
    storage.objects.bucket_id = 'message_attachments'
    and storage.objects.owner_id = (select auth.uid())::text
    and (storage.foldername(storage.objects.name))[1] in (
      select t.id::text
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  )
  with check (
    storage.objects.bucket_id = 'message_attachments'
    and storage.objects.owner_id = (select auth.uid())::text
    and (storage.foldername(storage.objects.name))[1] in (
      select t.id::text
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

create policy "message_attachments: uploaders delete their own" on storage.objects
  for delete to authenticated
  using (
    storage.objects.bucket_id = 'message_attachments'
    and storage.objects.owner_id = (select auth.uid())::text
    and (storage.foldername(storage.objects.name))[1] in (
      select t.id::text
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- storage.objects is shared by every feature of the project, and permissive policies are
-- OR-ed: one written elsewhere without a bucket_id condition ("signed-in users read their
-- files", "anyone reads public files") would open this bucket too. This RESTRICTIVE policy is
-- AND-ed with all of them, for every role RLS binds: whatever else allows, nothing inside
-- message_attachments is reached outside the thread's participants, and nothing is written
-- there in someone else's name. Other buckets are untouched.
create policy "message_attachments: never outside the thread" on storage.objects
  as restrictive
  for all to public
  using (
    storage.objects.bucket_id is distinct from 'message_attachments'
    or (storage.foldername(storage.objects.name))[1] in (
      select t.id::text
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  )
  with check (
    storage.objects.bucket_id is distinct from 'message_attachments'
    or (
      storage.objects.owner_id = (select auth.uid())::text
      and (storage.foldername(storage.objects.name))[1] in (
        select t.id::text
        from public.messaging_threads t
        where t.operator_id = (select auth.uid())
           or t.owner_id = (select auth.uid())
      )
    )
  );
