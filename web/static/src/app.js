// Entry of the pages' shared script; the lead fills it with the page chrome's behaviour.
export const CITYHUB_APP = 'cityhub'
