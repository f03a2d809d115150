-- An unverified owner changes nothing in a thread (the app's services/policy.py, issue #9
-- finding 9): updating a thread (status, subject), adding or removing a tag and recording an
-- attachment need the caller to be the thread's operator or its verified owner
-- (app_metadata.verified, which only the service role sets). Reading, moving one's own cursor
-- and read receipts stay open to both parties. The same rule as Alembic revision 0006.

-- Thread updates: USING stays "either party" (a row lock taken before the app's own check
-- must still find the row); WITH CHECK refuses an unverified owner's change.
drop policy if exists "threads: participants update" on public.messaging_threads;
create policy "threads: participants update" on public.messaging_threads
  for update to authenticated
  using (
    messaging_threads.operator_id = (select auth.uid())
    or messaging_threads.owner_id = (select auth.uid())
  )
  with check (
    messaging_threads.operator_id = (select auth.uid())
    or (messaging_threads.owner_id = (select auth.uid())
        and (select messaging_private.caller_is_verified()))
  );

drop policy if exists "tags: participants add" on public.messaging_thread_tags;
create policy "tags: participants add" on public.messaging_thread_tags
  for insert to authenticated
  with check (
    messaging_thread_tags.created_by = (select auth.uid())
    and messaging_thread_tags.tag = pg_catalog.btrim(messaging_thread_tags.tag)
    and messaging_thread_tags.tag <> ''
    and messaging_thread_tags.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or (t.owner_id = (select auth.uid())
             and (select messaging_private.caller_is_verified()))
    )
    and messaging_private.thread_tag_count(messaging_thread_tags.thread_id) < 20
  );

drop policy if exists "tags: participants remove" on public.messaging_thread_tags;
create policy "tags: participants remove" on public.messaging_thread_tags
  for delete to authenticated
  using (
    messaging_thread_tags.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or (t.owner_id = (select auth.uid())
             and (select messaging_private.caller_is_verified()))
    )
  );

drop policy if exists "attachments: participants upload" on public.messaging_attachments;
create policy "attachments: participants upload" on public.messaging_attachments
  for insert to authenticated
  with check (
    messaging_attachments.uploader_id = (select auth.uid())
    and messaging_attachments.message_id is null
    and messaging_attachments.storage_key
      = messaging_attachments.thread_id::text || '/' || messaging_attachments.id::text
    and (
      messaging_attachments.thumbnail_key is null
      or messaging_attachments.thumbnail_key
        = messaging_attachments.storage_key || '.thumb.webp'
    )
    and messaging_attachments.content_type in (
      'application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp',
      'application/msword',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.ms-excel',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'text/csv', 'text/plain'
    )
    and messaging_attachments.size_bytes <= 26214400
    and messaging_attachments.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or (t.owner_id = (select auth.uid())
             and (select messaging_private.caller_is_verified()))
    )
  );
