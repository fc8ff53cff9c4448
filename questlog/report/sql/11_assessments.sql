-- Assessments taken: attempts, exams, users, and the first and last start
SELECT
    count(*) AS assessments,
    count(DISTINCT exam_name) AS exams,
    count(DISTINCT user_id) AS users,
    min(started_at) AS first_started_at,
    max(started_at) AS last_started_at
FROM hive.default.assessments
