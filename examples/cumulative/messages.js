export function greet(name) { return `hello ${name}`; }
export function farewell(name) { return `bye ${name}`; }
