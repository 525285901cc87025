-- Every tool an overlap challenges, every month, and whether it could go.
--
-- A tool is challenged when another tool in use is mainly for the same
-- capability and has more users (capability_contenders); the tools no overlap
-- challenges are the ones being kept. A challenged tool could go only if every
-- capability it provides (each one a job someone uses it for, or one a team
-- needs) is done by a tool being kept, which takes the job over: the tool kept
-- in its first overlap if it does the job too (fewer tools to move to), else the
-- kept tool that does it best. So:
--   'overlaps partly'  some job has no kept tool to take it over: not a cut;
--   'standardise'      every job is covered, but a team using the tool does not
--                      use a tool that would take over: different teams chose
--                      different tools, a question to settle before any saving;
--   'cut'              every job is covered by tools its teams already use.
-- Confidence: 'low' when the finding rests on a catalog guess (the overlap
-- itself, a job no kept tool covers, or a takeover), 'high' when sign-ins show
-- people already using both it and the tool kept in its overlap, 'medium'
-- otherwise.
--
-- Written as nested selects, each read once, with lookups by key: a refresh of
-- one month then reads only that month's rows.
select
  *,
  case
    when uncovered_jobs > 0 then 'overlaps partly'
    when teams_moving is not null then 'standardise'
    else 'cut'
  end as finding,
  case
    when uncovered_jobs > 0 then null
    when rests_on_catalog then 'low'
    when shared_users > 0 then 'high'
    else 'medium'
  end as confidence
from (
  select
    period,
    tool,
    capability,
    keep_tool,
    -- Its jobs in a fixed order, its main ones first: JSON objects.
    (
      select json_group_array(json(job.value))
      from (
        select value from json_each(per_tool.job_list)
        order by json_extract(value, '$.primary') desc, json_extract(value, '$.capability')
      ) as job
    ) as jobs,
    uncovered_jobs,
    (
      select nullif(json_group_array(team), '[]')
      from (
        select distinct team.value as team
        from json_each(per_tool.moving_lists) as list, json_each(list.value) as team
        order by team.value
      )
    ) as teams_moving,
    -- Known only where both tools have per-person activity that month.
    case
      when exists (select 1 from tool_activity_summary as mine where mine.period = per_tool.period and mine.tool = per_tool.tool)
        and exists (select 1 from tool_activity_summary as kept where kept.period = per_tool.period and kept.tool = per_tool.keep_tool)
      then coalesce((
        select pair.shared_users from tool_pair_shared_users as pair
        where pair.period = per_tool.period
          and pair.tool_a = min(per_tool.tool, per_tool.keep_tool) and pair.tool_b = max(per_tool.tool, per_tool.keep_tool)
      ), 0)
    end as shared_users,
    per_tool.guessed or coalesce((
      select keeper.source = 'catalog' from capability_contenders as keeper
      where keeper.period = per_tool.period and keeper.tool = per_tool.keep_tool and keeper.capability = per_tool.capability
    ), 0) as rests_on_catalog
  from (
    select
      period,
      tool,
      min(case when place > 1 then capability end) as capability,
      max(main_keep_tool) as keep_tool,
      json_group_array(json_object(
        'capability', capability, 'primary', "primary", 'source', source,
        'takeover', takeover, 'takeover_source', takeover_source, 'sole', sole
      )) as job_list,
      sum(takeover is null) as uncovered_jobs,
      max(
        (place > 1 and source is 'catalog') or takeover_source is 'catalog' or (takeover is null and source is 'catalog')
      ) as guessed,
      json_group_array(json(moving)) as moving_lists
    from (
      select
        job.*,
        (
          select offer.source from capability_contenders as offer
          where offer.period = job.period and offer.tool = job.takeover and offer.capability = job.capability
        ) as takeover_source,
        -- The teams using it for this job's capability that do not use the tool taking it over.
        case when job.takeover is null then '[]' else (
          select json_group_array(team.value)
          from capability_tool_teams as mine
          cross join json_each('["' || replace(mine.team_list, ', ', '","') || '"]') as team
          where mine.period = job.period and mine.capability = job.capability and mine.tool = job.tool
            and not exists (
              select 1
              from team_capability_coverage as theirs, json_each(theirs.tool_list) as used
              where theirs.period = job.period and theirs.capability = job.capability and theirs.team = team.value
                and used.value = job.takeover
            )
        ) end as moving
      from (
        select
          job.period,
          job.tool,
          job.capability,
          job."primary",
          job.source,
          job.place,
          job.main_keep_tool,
          job.providers = 1 as sole,
          coalesce(
            (
              select main.tool from capability_contenders as main
              where main.period = job.period and main.tool = job.main_keep_tool and main.capability = job.capability
                and not main.challenged
            ),
            job.best_kept_tool
          ) as takeover
        from capability_contenders as job
        where job.challenged
      ) as job
    )
    group by period, tool
  ) as per_tool
)
