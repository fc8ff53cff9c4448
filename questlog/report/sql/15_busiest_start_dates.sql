-- The ten busiest days: assessments started per date (UTC)
SELECT CAST(started_at AS date) AS start_date, count(*) AS assessments
FROM hive.default.assessments
GROUP BY CAST(started_at AS date)
ORDER BY assessments DESC, start_date
LIMIT 10
