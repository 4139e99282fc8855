// One issue per scheduled check (links.yml, canary.yml), run by actions/github-script:
//   const report = require(`${process.env.GITHUB_WORKSPACE}/.github/scripts/report-issue.js`)
//   await report({github, context, core})
// with, in the step's env: ISSUE_TITLE, ISSUE_LABEL (the check's own label), REPORT (a Markdown
// file) and FOUND ('true' when the check found something).
// Found: the open issue with the label gets the new report (and a comment, so that its
// subscribers hear of it), or a new issue is opened. Nothing found: the open issue is closed.
const fs = require('fs')

const LIMIT = 60000 // GitHub refuses an issue body over 65,536 characters
const FOOTER = '---\nFound by '

module.exports = async ({github, context, core}) => {
  const {ISSUE_TITLE: title, ISSUE_LABEL: label, REPORT: report, FOUND: found} = process.env
  const {owner, repo} = context.repo
  const run = `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`
  const open = await github.paginate(github.rest.issues.listForRepo, {
    owner, repo, state: 'open', labels: label, per_page: 100
  })
  const issue = open.find(i => !i.pull_request)

  if (found !== 'true') {
    if (issue) {
      await github.rest.issues.createComment({
        owner, repo, issue_number: issue.number, body: `Nothing to report any more (${run}): closing.`
      })
      await github.rest.issues.update({
        owner, repo, issue_number: issue.number, state: 'closed', state_reason: 'completed'
      })
      core.info(`Closed #${issue.number}`)
    } else {
      core.info('Nothing to report')
    }
    return
  }

  let content = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : `(The report, ${report}, is missing.)\n`
  if (content.length > LIMIT) {
    content = content.slice(0, LIMIT) + '\n\n(Cut here: the whole report is in the run\'s artifacts.)\n'
  }
  const footer = `\n${FOOTER}${context.workflow}: ${run}\n`
  const body = content + footer

  if (issue) {
    const same = (issue.body || '').split(`\n${FOOTER}`)[0] === content
    await github.rest.issues.update({owner, repo, issue_number: issue.number, title, body})
    if (!same) {
      await github.rest.issues.createComment({
        owner, repo, issue_number: issue.number, body: `The report above is new: ${run}`
      })
    }
    core.info(`Updated #${issue.number}${same ? ' (the same report)' : ''}`)
    return
  }
  try {
    await github.rest.issues.getLabel({owner, repo, name: label})
  } catch (error) {
    if (error.status !== 404) throw error
    await github.rest.issues.createLabel({owner, repo, name: label, color: 'd93f0b'})
  }
  const created = await github.rest.issues.create({owner, repo, title, body, labels: [label]})
  core.info(`Opened #${created.data.number}`)
}
