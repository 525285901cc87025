-- The stack report's usage figures for every month: for the whole stack (team
-- '', as the report's blank team parameter means every team) and for each
-- team. Every row of the month counts twice: once for the whole stack, once
-- for its team. Stack utilisation compares like with like: all active users
-- over all seats, counting only rows that give both figures.
select
  used.period,
  iif(scope.whole_stack, '', used.team) as team,
  count(distinct case when used.in_use then used.tool end) as tools_in_use,
  count(distinct case when used.in_use then used.team end) as teams_in_use,
  sum(used.seats) as seats,
  sum(used.active_users) as active_users,
  round(
    sum(case when used.seats is not null then used.active_users end) * 1.0
      / nullif(sum(case when used.active_users is not null then used.seats end), 0),
    4
  ) as stack_utilization
from usage_effective as used
cross join (select 1 as whole_stack union all select 0) as scope
group by used.period, iif(scope.whole_stack, '', used.team)
