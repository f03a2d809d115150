-- Tier gating where the database can see it (issue #12): a thread's file sharing follows its
-- operator's plan, app_metadata.tier in auth.users ('beta' when absent; set with the service
-- key, like `verified` and `role`). Beta threads share no files: neither party may put an
-- object into the thread's Storage folder. The app's own matrix (services/policy.py,
-- TIER_FEATURES) decides everything else — attachment rows, links, AI, e-mail — in the
-- services; README.md says which layer enforces what. The default matrix gives file sharing
-- to 'pro' and 'premium'; a deployment that changes TIER_FEATURES changes this list too.
--
-- The same policy now also keeps an unverified owner out of the folder (until now only the
-- attachment rows refused them: revision 20261202000600).

create function messaging_private.thread_shares_files(p_folder text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select coalesce(u.raw_app_meta_data ->> 'tier', 'beta') in ('pro', 'premium')
     from public.messaging_threads t
     join auth.users u on u.id = t.operator_id
     where t.id::text = p_folder),
    false)
$$;
revoke all on function messaging_private.thread_shares_files(text) from public;
grant execute on function messaging_private.thread_shares_files(text)
  to authenticated, service_role;

drop policy if exists "message_attachments: participants upload" on storage.objects;
create policy "message_attachments: participants upload" on storage.objects
  for insert to authenticated
  with check (
    storage.objects.bucket_id = 'message_attachments'
    and storage.objects.owner_id = (select auth.uid())::text
    and (storage.foldername(storage.objects.name))[1] in (
      select t.id::text
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or (t.owner_id = (select auth.uid())
             and (select messaging_private.caller_is_verified()))
    )
    and messaging_private.thread_shares_files((storage.foldername(storage.objects.name))[1])
  );
